// The virtual board for `make soak`: the soak core (rtl/soc/soak.py: VexRiscv with the firmware, the
// NMI storm, the counters) in Verilator, its snapshot UART on a pseudo-terminal. The configuration
// inputs (its DIP switches) come from the command line, in the order of harness_defs.h's
// SOAK_INPUTS. Prints "PTY <path>", then runs until stdin closes; on exit prints "CYCLES <n>".
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>
#include "Vsoak_core.h"
#include "harness_defs.h"  // after Vsoak_core.h: it reaches into the model's classes
#include "pty.h"
#include "verilated.h"

int main(int argc, char** argv) {
    if (argc != 1 + SOAK_INPUT_COUNT) {
        std::fprintf(stderr, "usage: %s <%d configuration values in SOAK_INPUTS order>\n", argv[0], SOAK_INPUT_COUNT);
        return 2;
    }
    unsigned long values[SOAK_INPUT_COUNT];
    for (int i = 0; i < SOAK_INPUT_COUNT; i++) values[i] = std::strtoul(argv[1 + i], nullptr, 0);
    int master = open_board_pty();
    if (master < 0) return 1;

    auto* top = new Vsoak_core;
    SOAK_APPLY(top, values);
    top->rst = 1;
    for (int i = 0; i < 4; i++) { top->clk = 0; top->eval(); top->clk = 1; top->eval(); }
    top->rst = 0;
    int tx_state = -1, tx_timer = 0;  // -1: idle; 0..7: data bits; 8: stop
    unsigned tx_byte = 0;
    unsigned long long cycles = 0;
    for (;;) {
        if ((cycles & 0xFFFF) == 0) {
            struct pollfd in = {0, POLLIN, 0};
            if (poll(&in, 1, 0) > 0 && (in.revents & (POLLIN | POLLHUP))) {
                char c;
                if (read(0, &c, 1) <= 0) goto done;  // the host went away: stop
            }
        }
        // The UART out of the board, sampled mid-bit as a USB-serial chip would.
        if (tx_state < 0) {
            if (!top->tx) { tx_state = 0; tx_timer = SOAK_DIVISOR + SOAK_DIVISOR / 2; tx_byte = 0; }
        } else if (--tx_timer == 0) {
            if (tx_state < 8) { tx_byte |= (unsigned)top->tx << tx_state; tx_state++; tx_timer = SOAK_DIVISOR; }
            else {
                unsigned char b = (unsigned char)tx_byte;
                // Never drop a byte; but a host that went away (stdin closed) ends the run.
                while (write(master, &b, 1) < 0 && errno == EAGAIN) {
                    struct pollfd in = {0, POLLIN, 0};
                    if (poll(&in, 1, 1) > 0 && (in.revents & (POLLIN | POLLHUP))) {
                        char c;
                        if (read(0, &c, 1) <= 0) goto done;
                    }
                }
                tx_state = -1;
            }
        }
        top->clk = 0; top->eval(); top->clk = 1; top->eval();
        cycles++;
    }
done:
    std::printf("CYCLES %llu RETIRED %llu\n", cycles, (unsigned long long)SOAK_RETIRED(top));
    top->final();
    delete top;
    return 0;
}
