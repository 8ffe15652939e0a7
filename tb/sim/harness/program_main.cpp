// Raw Verilator harness for program mode: no cocotb, no VPI. Reads programs from stdin, runs each on
// program_top at full speed, writes the trace entries to stdout. Protocol (text, one item per line):
//   in:  "P max_cycles <the CONFIG_PIN_COUNT configuration pins>", "W <hex word>" lines,
//        "D <hex64>" data-table lines (register-write values), then "R"
//   out: "T count done error overflow cycles", "E <hex entry>" lines (32-bit groups, most significant
//        first), then "G <hex64>" lines: the HOST_REGISTERS host-state registers read back
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>
#include "Vprogram_top.h"
#include "verilated.h"
#include "harness_defs.h"  // generated from the Python definitions (tb/protocol/program_session.py)

static uint64_t ticks = 0;

static void tick(Vprogram_top* top) {
    top->clk = 0;
    top->eval();
    top->clk = 1;
    top->eval();
    ticks++;
}

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    auto* top = new Vprogram_top;
    char line[256];
    unsigned long long max_cycles = 0;
    unsigned cfg[CONFIG_PIN_COUNT] = {0};
    std::vector<uint32_t> words;
    std::vector<uint64_t> data;
    while (std::fgets(line, sizeof line, stdin)) {
        if (line[0] == 'P') {
            char* at = line + 1;
            max_cycles = std::strtoull(at, &at, 10);
            for (unsigned i = 0; i < CONFIG_PIN_COUNT; i++) cfg[i] = (unsigned)std::strtoul(at, &at, 10);
            words.clear();
            data.clear();
        } else if (line[0] == 'D') {
            data.push_back((uint64_t)std::strtoull(line + 1, nullptr, 16));
        } else if (line[0] == 'W') {
            words.push_back((uint32_t)std::strtoul(line + 1, nullptr, 16));
        } else if (line[0] == 'R') {
            top->rst = 1;
            tick(top);
            tick(top);
            top->rst = 0;
            APPLY_CONFIG(top, cfg);
            for (size_t i = 0; i < words.size(); i++) {
                top->prog_we = 1; top->prog_addr = (uint32_t)i; top->prog_data = words[i];
                tick(top);
            }
            top->prog_we = 0;
            for (size_t i = 0; i < data.size(); i++) {
                top->data_we = 1; top->data_addr = (uint32_t)i; top->data_data = data[i];
                tick(top);
            }
            top->data_we = 0;
            top->start = 1;
            tick(top);
            top->start = 0;
            for (uint64_t n = 0; n < max_cycles && !top->done && !top->error; n++) tick(top);
            unsigned count = top->trace_count;
            std::printf("T %u %u %u %u %u\n", count, (unsigned)top->done, (unsigned)top->error,
                        (unsigned)top->trace_overflow, (unsigned)top->cycle);
            for (unsigned a = 0; a < count; a++) {
                top->trace_addr = a;
                tick(top);  // the trace buffer reads synchronously
                std::printf("E");
                for (int w = (int)(sizeof(top->trace_data) / sizeof(top->trace_data[0])) - 1; w >= 0; w--)
                    std::printf("%08x", top->trace_data[w]);
                std::printf("\n");
            }
            for (unsigned r = 0; r < HOST_REGISTERS; r++) {
                top->regs_addr = r;
                top->eval();
                std::printf("G %016llx\n", (unsigned long long)top->regs_data);
            }
            std::fflush(stdout);
        }
    }
    std::fprintf(stderr, "ticks %llu\n", (unsigned long long)ticks);
    top->final();
    delete top;
    return 0;
}
