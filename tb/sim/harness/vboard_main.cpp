// The virtual board: a board's gateware (program mode's board_core, or the softcore's softcore_board:
// harness_defs.h names the model) in Verilator, its UART on a pseudo-terminal.
// Prints "PTY <path>" on stdout, then serves until stdin closes. The UART lines are driven and
// sampled bit by bit at the gateware's own bit period, as a USB-serial chip would.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>
#include "harness_defs.h"  // BOARD_MODEL and its header (tb/benches/vboard.py)
#include "pty.h"
#include "verilated.h"

static const int DIVISOR = 12;  // cycles per bit (BoardCore(12), SoftcoreBoardCore(12))

int main(int argc, char** argv) {
    Verilated::commandArgs(argc, argv);
    int master = open_board_pty();
    if (master < 0) return 1;

    auto* top = new BOARD_MODEL;
    top->rx = 1;
    top->rst = 1;
    for (int i = 0; i < 4; i++) { top->clk = 0; top->eval(); top->clk = 1; top->eval(); }
    top->rst = 0;

    std::deque<unsigned char> to_board;
    int rx_bit = -1, rx_timer = 0;  // -1: idle; 0: start bit; 1..8: data; 9: stop
    unsigned char rx_byte = 0;
    int tx_state = -1, tx_timer = 0;  // -1: idle; 0..7: data bits; 8: stop
    unsigned tx_byte = 0;
    unsigned long long idle = 0, cycles = 0;
    for (;;) {
        if ((cycles & 0x3FF) == 0) {
            unsigned char buf[256];
            ssize_t n = read(master, buf, sizeof buf);
            for (ssize_t i = 0; i < n; i++) to_board.push_back(buf[i]);
            struct pollfd in = {0, POLLIN, 0};
            if (poll(&in, 1, 0) > 0 && (in.revents & (POLLIN | POLLHUP))) {
                char c;
                if (read(0, &c, 1) <= 0) break;  // the driver went away: stop
            }
            if (idle > 200000 && to_board.empty()) {  // nothing to do: sleep until a byte comes
                struct pollfd p[2] = {{master, POLLIN, 0}, {0, POLLIN, 0}};
                poll(p, 2, 5);
            }
        }
        // UART into the board.
        if (rx_bit < 0 && !to_board.empty()) {
            rx_byte = to_board.front(); to_board.pop_front();
            rx_bit = 0; rx_timer = DIVISOR;
        }
        if (rx_bit >= 0) {
            top->rx = rx_bit == 0 ? 0 : rx_bit == 9 ? 1 : (rx_byte >> (rx_bit - 1)) & 1;
            if (--rx_timer == 0) { rx_timer = DIVISOR; if (++rx_bit == 10) rx_bit = -1; }
            idle = 0;
        } else {
            top->rx = 1;
        }
        // UART out of the board: sample mid-bit.
        if (tx_state < 0) {
            if (!top->tx) { tx_state = 0; tx_timer = DIVISOR + DIVISOR / 2; tx_byte = 0; idle = 0; }
        } else if (--tx_timer == 0) {
            if (tx_state < 8) { tx_byte |= (unsigned)top->tx << tx_state; tx_state++; tx_timer = DIVISOR; }
            else {
                unsigned char b = (unsigned char)tx_byte;
                if (write(master, &b, 1) < 0 && errno != EAGAIN) perror("write");
                tx_state = -1;
            }
        }
        top->clk = 0; top->eval(); top->clk = 1; top->eval();
        cycles++; idle++;
    }
    top->final();
    delete top;
    return 0;
}
