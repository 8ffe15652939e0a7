// A pseudo-terminal for a virtual board's UART: raw mode, non-blocking master; prints "PTY <path>".
// The slave stays open so the master never sees EIO between clients. Returns the master, or -1.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

static int open_board_pty() {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) || unlockpt(master)) { perror("pty"); return -1; }
    const char* path = ptsname(master);
    int keep_slave = open(path, O_RDWR | O_NOCTTY);
    struct termios t;
    tcgetattr(keep_slave, &t);
    cfmakeraw(&t);
    tcsetattr(keep_slave, TCSANOW, &t);
    fcntl(master, F_SETFL, O_NONBLOCK);
    std::printf("PTY %s\n", path);
    std::fflush(stdout);
    return master;
}
