// The raw Verilator harness for the softcore in the loop (rtl/soc/softcore_core.py): no cocotb, no
// VPI. The host drives the core's register port through text lines on stdin:
//   "W <addr> <hex value>"  a register write (one cycle)
//   "R <addr> <count>"      reads count registers from addr: "V <hex> ..." (one line)
//   "B <addr> <n> <stride> <words>"
//                           reads n records of words registers, stride apart from addr, pipelined (a
//                           new address every cycle): "V <record> ..." (one line), each record one hex
//                           number, its last word first
//   "U <max cycles>"        clocks while the core runs (a run was started by a CTRL write), at most
//                           max cycles: "U <cycles clocked> <still running> <CPU instructions retired>
//                           <nanoseconds the clocking took>"
// and exits at end of input. Addresses are decimal word addresses of the core's REGISTERS.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include "Vsoftcore_core.h"
#include "verilated.h"
#include "harness_defs.h"  // generated (tb/benches/softcore_harness.py): the port's members, the CPU's counter

static void tick(Vsoftcore_core* top) {
    top->clk = 0; top->eval();
    top->clk = 1; top->eval();
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    auto* top = new Vsoftcore_core;
    top->rst = 1;
    for (int i = 0; i < 4; i++) tick(top);
    top->rst = 0;
    char line[256];
    while (std::fgets(line, sizeof line, stdin)) {
        char* at = line + 1;
        if (line[0] == 'W') {
            unsigned long addr = std::strtoul(at, &at, 10), value = std::strtoul(at, &at, 16);
            SC_WR_EN(top) = 1; SC_WR_ADDR(top) = (uint32_t)addr; SC_WR_DATA(top) = (uint32_t)value;
            tick(top);
            SC_WR_EN(top) = 0;
        } else if (line[0] == 'R') {
            unsigned long addr = std::strtoul(at, &at, 10), count = std::strtoul(at, &at, 10);
            std::fputs("V", stdout);
            for (unsigned long i = 0; i < count; i++) {
                SC_RD_ADDR(top) = (uint32_t)(addr + i);
                tick(top);
                tick(top);  // the register port answers two cycles after the address
                std::printf(" %08x", (unsigned)SC_RD_DATA(top));
            }
            std::fputs("\n", stdout);
        } else if (line[0] == 'B') {
            unsigned long addr = std::strtoul(at, &at, 10), n = std::strtoul(at, &at, 10);
            unsigned long stride = std::strtoul(at, &at, 10), words = std::strtoul(at, &at, 10);
            unsigned long total = n * words;
            std::vector<uint32_t> got(total);
            // rd_data after edge k answers the address set before edge k-1: one edge per word, plus one
            for (unsigned long k = 0; total && k <= total; k++) {
                unsigned long i = k < total ? k : total - 1;
                SC_RD_ADDR(top) = (uint32_t)(addr + (i / words) * stride + i % words);
                tick(top);
                if (k >= 1) got[k - 1] = (uint32_t)SC_RD_DATA(top);
            }
            std::fputs("V", stdout);
            for (unsigned long r = 0; r < n; r++) {
                std::fputs(" ", stdout);
                for (unsigned long w = words; w-- > 0;) std::printf("%08x", (unsigned)got[r * words + w]);
            }
            std::fputs("\n", stdout);
        } else if (line[0] == 'U') {
            unsigned long long max = std::strtoull(at, &at, 10), n = 0;
            uint64_t retired = SC_RETIRED(top);
            auto began = std::chrono::steady_clock::now();
            while (top->running && n < max) { tick(top); n++; }
            auto took = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - began);
            std::printf("U %llu %u %llu %lld\n", n, (unsigned)top->running,
                        (unsigned long long)(SC_RETIRED(top) - retired), (long long)took.count());
        } else {
            std::fprintf(stderr, "unknown command: %s", line);
            return 2;
        }
        std::fflush(stdout);
    }
    top->final();
    delete top;
    return 0;
}
