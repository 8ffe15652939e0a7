/* KVM's TD run loop and Linux's NMI handling, as firmware for the softcore SoC.
 *
 * Written from shared/SPEC.md (not from any kernel source):
 *   C1/C1'  KVM's policies after an NMI exit: "noinstr" runs the manual NMI pass at once, inside
 *           its noinstr region; "late" first runs an instrumentable window (a loop here).
 *   C2      the manual pass: default_do_nmi for the NMI the exit consumed, with RIP = R_kvm and, with
 *           NMI-source reporting, the exit qualification as its bitmap; it ends with IRET.
 *   C3      the RIPs: a delivery's is the real interrupted PC (mepc); the instruction after the
 *           ENTER store is R_seam, the one KVM's pass returns to (after its IRET store) is R_kvm.
 *           Each is followed by a pad of NOPs: an in-order pipeline retires the instructions it has
 *           already issued before it takes an interrupt, so a delivery at that boundary lands
 *           somewhere in the pad; no instruction of effect has run, and the handler reports the
 *           boundary itself. Only a delivery the hardware made at that boundary (DELIVERED's
 *           AT_SEAMRET, AT_IRET: owed in the first cycle after it) is reported so; an NMI that
 *           arrived later and lands in a pad is reported as the host RIP it is. At another IRET's
 *           boundary the delivery interrupts the RIP that IRET returned to (the same place again).
 *   E1      exc_nmi's nmi_state guard (IDT entry); its decrement is this_cpu_dec_return, which an
 *           interrupt on the same CPU cannot split: here interrupts are masked around it.
 *   E3      default_do_nmi: the back-to-back test on the interrupted RIP, handlers, swallow, unknown;
 *           local_touch_nmi(): every pass through the idle loop forgets the last NMI's RIP.
 *   F       an instrumentation fault (CONFIG's CFG_FAULT): a real trap (ECALL) in KVM's first
 *           instrumentable code after SEAMRET (the late policy's window; after the noinstr region),
 *           whose handler returns with IRET through a non-NMI frame (A1: under IDT that unblocks
 *           NMIs, under FRED it does not).
 *   E4      the NMI sources' status bits (set per vector, polled and cleared by handlers) and the
 *           external reason (vector 2, tried only when no handler claimed anything).
 *   §7      host state (CFG_HOST_STATE): the host's values loaded once, KVM's restores after each exit,
 *           at vcpu_put and on return to user space (the user-return MSR cache), the refusal of a TD
 *           asking for TSX or WAITPKG; from the table the testbench loads at HS_TABLE_ADDR.
 * After its TD entries the host idles (r_idle: one boundary, however many instructions the poll
 * takes) until the environment reports its timeline played and the system settled (ENV), then logs
 * Linux's counters. HANDLER tells the environment whether an NMI handler runs (`until: handler`)
 * and where the innermost pass is in its poll (`until: poll` before it starts, `until: polled` after).
 * Log records are written with interrupts masked, so a nested pass cannot split one.
 * The hardware is the NMI peripheral (soc.h, generated from rtl/soc/nmi_periph.py's REGISTERS):
 * SEAMCALL(TDH.VP.ENTER) is a store to ENTER that completes at SEAMRET; IRET is a store to IRET.
 */
#include "soc.h"

#define EXTERNAL_VECTOR 2
#define NOT_RUNNING 0
#define EXECUTING 1
#define LATCHED 2

static volatile int nmi_state;
static volatile unsigned last_nmi_rip;
static int swallow_nmi;
static unsigned normal, unknown, swallowed, external_count, passes;

static unsigned handler_depth, poll_state, poll_index, polls; /* polls: every poll so far (mod 64) */

/* Interrupts masked around what an NMI on this CPU must not split (RV32I has no atomics). */
static inline unsigned irq_save(void) {
    unsigned mstatus;
    __asm__ volatile("csrrci %0, mstatus, 8" : "=r"(mstatus)::"memory");
    return mstatus & 8;
}
static inline void irq_restore(unsigned was) {
    if (was) __asm__ volatile("csrsi mstatus, 8" ::: "memory");
}

/* this_cpu_dec_return(nmi_state): one step that a nested NMI sees before or after, never inside. */
static int nmi_state_dec(void) {
    unsigned was = irq_save();
    int left = --nmi_state;
    irq_restore(was);
    return left;
}

/* The environment's `until: handler` watches the depth (a pass, or exc_nmi marking one LATCHED);
 * `until: poll`/`until: polled` watch the innermost pass's poll state, and which poll it was (so
 * `until: polled` can wait for a poll after the environment's last NMI). */
__attribute__((noinline)) static void handler_set(unsigned state, unsigned index) {
    poll_state = state;
    poll_index = index;
    REG(HANDLER) = handler_depth | state << HANDLER_POLL_SHIFT | (index & 63) << HANDLER_INDEX_SHIFT |
                   (polls & 63) << HANDLER_POLLS_SHIFT;
}
/* Returns the outer context's state and poll index (one word: state | index << 8). */
__attribute__((noinline)) static unsigned handler_enter(unsigned state) {
    unsigned outer = poll_state | poll_index << 8;
    handler_depth++;
    handler_set(state, 0);
    return outer;
}
__attribute__((noinline)) static void handler_leave(unsigned outer) {
    handler_depth--;
    handler_set(outer & 0xFF, outer >> 8);
}

static inline void log_word(unsigned w) { REG(LOG) = w; }

/* A log record is its tag, then its words written in place (no copy on the stack a nested NMI also
 * needs), with interrupts masked from log_begin to log_end: a nested pass's record cannot land inside. */
__attribute__((noinline)) static unsigned log_begin(unsigned kind, unsigned n) {
    unsigned was = irq_save();
    log_word(LOG_TAG | kind << 8 | n);
    return was;
}
#define log_end irq_restore

/* E3 and E4: one pass of default_do_nmi. ``flags``: PASS_RERUN, PASS_AT_SEAMRET, PASS_AT_IRET. Returns its result. */
static unsigned default_do_nmi(unsigned entry, unsigned rip, unsigned landing, unsigned bitmap, int has_bitmap,
                               unsigned flags) {
    /* The pass begins: the back-to-back test and its bookkeeping, one step to a nested NMI (as the
     * model's pass starts). Interrupts matter only in KVM's pass (main context): exc_nmi runs masked. */
    unsigned was = irq_save();
    unsigned start = REG(CYCLE);
    passes++;
    int b2b = rip == last_nmi_rip;
    if (!b2b) swallow_nmi = 0;
    last_nmi_rip = rip;
    unsigned outer = handler_enter(POLL_AHEAD);
    irq_restore(was);
    int call_all = !has_bitmap || bitmap == 0 || (bitmap & 1);
    /* The poll and its conclusion: the sources read, the claimed ones cleared, the counters and the
     * result in one step, so a nested pass sees them before or after, never half (the model
     * concludes at its poll cycle, E5). */
    was = irq_save();
    handler_set(POLL_POLLING, 0); /* from here an arrival may be on either side of the poll */
    unsigned poll = REG(CYCLE);
    unsigned pending = REG(SOURCES), recheck = 0, claimed = 0, handled = 0, result;
    for (unsigned v = 1; v < 16; v++) {
        if (v == EXTERNAL_VECTOR) continue;
        if ((call_all || (bitmap >> v & 1)) && (pending >> v & 1)) {
            REG(SOURCES) = 1u << v; /* the handler polls its source and clears it */
            claimed |= 1u << v;
            handled++;
        }
    }
    if (!handled) recheck = REG(SOURCES); /* the external reason's port, read only when nothing claimed */
    if (!handled && (recheck >> EXTERNAL_VECTOR & 1)) REG(SOURCES) = 1u << EXTERNAL_VECTOR;
    normal += handled;
    if (handled > 1) swallow_nmi = 1;
    if (handled) {
        result = RESULT_HANDLED;
    } else if (recheck >> EXTERNAL_VECTOR & 1) {
        claimed = 1u << EXTERNAL_VECTOR;
        external_count++;
        result = RESULT_EXTERNAL;
    } else if (b2b && swallow_nmi) {
        swallowed++;
        result = RESULT_SWALLOWED;
    } else {
        unknown++; /* "Uhhuh. NMI received for unknown reason" */
        result = RESULT_UNKNOWN;
    }
    polls++;
    handler_set(POLL_DONE, polls);
    irq_restore(was);
    unsigned end = REG(CYCLE);
    handler_leave(outer);
    was = log_begin(LOG_PASS, 12);
    log_word(entry);
    log_word(rip);
    log_word(landing);
    log_word(has_bitmap ? bitmap : NO_BITMAP);
    log_word(pending);
    log_word(recheck);
    log_word(claimed);
    log_word(result);
    log_word(start);
    log_word(poll);
    log_word(end);
    log_word(flags);
    log_end(was);
    return result;
}

/* ---- SPEC §7: host state across TDH.VP.ENTER ----------------------------------------------------
 * A restore is one write to the register file (WRMSR, XSETBV, MOV to a DR): REG_LO/REG_HI, then the
 * register's address to REG_WRITE. What KVM knows of the module's behaviour, from the spec: */
#define DEBUGCTL_PRESERVED ((1u << 1) | (1u << 12) | (1u << 14)) /* the bits the module keeps */
#define FMASK_AFTER_TD 0x20200u                                   /* the module's SYSCALL_MASK at SEAMRET */

#define HS_WORD(i) (((volatile unsigned*)HS_TABLE_ADDR)[i])
static unsigned hs_flags, hs_writes;
static int uret_registered; /* KVM's user-return notifier is armed */
static const unsigned uret_regs[5] = {HR_STAR, HR_LSTAR, HR_FMASK, HR_TSC_AUX, HR_TSX_CTRL};
static unsigned uret_count, uret_lo[5], uret_hi[5]; /* Linux's "current value" of each user-return slot */

static int hs_on(unsigned flag) { return (hs_flags & flag) != 0; }
static unsigned host_lo(unsigned reg) { return HS_WORD(HS_HOST + 2 * reg); }
static unsigned host_hi(unsigned reg) { return HS_WORD(HS_HOST + 2 * reg + 1); }

static void hs_write(unsigned reg, unsigned lo, unsigned hi) {
    REG(REG_LO) = lo;
    REG(REG_HI) = hi;
    REG(REG_WRITE) = reg;
    hs_writes++;
}
static void restore(unsigned reg) { hs_write(reg, host_lo(reg), host_hi(reg)); }

/* The host as it was before KVM ran (the register file starts at 0); returns whether KVM refuses the
 * TD (the merged code: a TD asking for TSX or WAITPKG is not created). */
static int hs_setup(void) {
    hs_flags = HS_WORD(0);
    for (unsigned r = 0; r < HS_REGISTERS; r++) restore(r);
    uret_count = hs_on(HS_URET_TSX) ? 5 : 4; /* the first posting had TSX_CTRL in the list */
    for (unsigned i = 0; i < uret_count; i++) {
        uret_lo[i] = host_lo(uret_regs[i]);
        uret_hi[i] = host_hi(uret_regs[i]);
    }
    return hs_on(HS_REFUSE) && (hs_on(HS_TD_TSX) || hs_on(HS_TD_WAITPKG));
}

/* KVM right after TDH.VP.ENTER returns (and its NMI handling). */
static void hs_after_exit(void) {
    if (hs_on(HS_DEBUGCTL) && ((host_lo(HR_DEBUGCTL) & ~DEBUGCTL_PRESERVED) || host_hi(HR_DEBUGCTL)))
        restore(HR_DEBUGCTL); /* update_debugctlmsr() */
    if (hs_on(HS_DR) && hs_on(HS_HOST_BREAKPOINTS)) {
        static const unsigned drs[6] = {HR_DR0, HR_DR1, HR_DR2, HR_DR3, HR_DR6, HR_DR7};
        for (unsigned i = 0; i < 6; i++) restore(drs[i]);
    }
    if (hs_on(HS_XSAVE)) { /* the TD's XSAVE state, where it differs from the host's */
        static const unsigned xsave[3] = {HR_PKRU, HR_XCR0, HR_XSS};
        for (unsigned i = 0; i < 3; i++) {
            unsigned lo = HS_WORD(HS_GUEST_XSAVE + 2 * i), hi = HS_WORD(HS_GUEST_XSAVE + 2 * i + 1);
            if (lo != host_lo(xsave[i]) || hi != host_hi(xsave[i])) restore(xsave[i]);
        }
    }
    if (hs_on(HS_URET_UPDATE)) { /* the cache learns what the module left; the notifier restores later */
        for (unsigned i = 0; i < uret_count; i++) {
            uret_lo[i] = uret_regs[i] == HR_FMASK ? FMASK_AFTER_TD : 0;
            uret_hi[i] = 0;
        }
        uret_registered = 1;
    }
}

/* vcpu_put, then kvm_on_user_return() as the task returns to user space. */
static void hs_return_to_user(void) {
    if (hs_on(HS_KERNEL_GS_BASE)) restore(HR_KERNEL_GS_BASE);
    if (hs_on(HS_XFD)) restore(HR_XFD); /* kvm_put_guest_fpu() */
    if (!uret_registered) return;
    for (unsigned i = 0; i < uret_count; i++) {
        unsigned reg = uret_regs[i];
        if (uret_lo[i] != host_lo(reg) || uret_hi[i] != host_hi(reg)) {
            restore(reg);
            uret_lo[i] = host_lo(reg);
            uret_hi[i] = host_hi(reg);
        }
    }
}

extern char r_seam[], r_seam_end[], r_kvm[], r_kvm_end[], r_idle[], r_idle_end[];

#define PAD "nop\nnop\nnop\nnop\nnop\nnop\nnop\nnop\n"

#define ADDR(symbol) ((unsigned)(unsigned long)(symbol))

/* Where the last IRET returned to and the RIP that place stood for: a delivery at that IRET's boundary
 * interrupts it again (0: KVM's pass, whose IRET returns into R_kvm's pad). */
static unsigned iret_landing, iret_rip;

/* The RIP a landing address stands for (C3 and the pads above): a pad's boundary only for a delivery
 * the hardware made at that boundary (``at``: DELIVERED's boundary bits). */
static unsigned boundary(unsigned rip, unsigned at) {
    if ((at & AT_SEAMRET) && rip >= ADDR(r_seam) && rip <= ADDR(r_seam_end)) return ADDR(r_seam);
    if ((at & AT_IRET) && iret_landing && rip == iret_landing) return iret_rip;
    if ((at & AT_IRET) && rip >= ADDR(r_kvm) && rip <= ADDR(r_kvm_end)) return ADDR(r_kvm);
    if (rip >= ADDR(r_idle) && rip < ADDR(r_idle_end)) return ADDR(r_idle); /* the idle loop is one place */
    return rip;
}

/* IRET back to ``landing``, which stands for ``rip`` (``nmi_frame``: bit 0 of the IRET store). */
static void iret_to(unsigned landing, unsigned rip, unsigned nmi_frame) {
    iret_landing = landing;
    iret_rip = rip;
    REG(IRET) = nmi_frame;
}

static int fault_pending;

/* The instrumentation fault: host code traps, and its handler returns through a non-NMI frame. */
static void instrumentable_point(void) {
    if (fault_pending) {
        fault_pending = 0;
        __asm__ volatile("ecall" ::: "memory");
    }
}

/* The trap vector: an exception is the instrumentation fault; the interrupt is the NMI delivery
 * (exc_nmi), and mepc is the interrupted RIP. */
__attribute__((interrupt("machine"), aligned(4))) void exc_nmi(void) {
    unsigned landing, cause;
    __asm__ volatile("csrr %0, mepc" : "=r"(landing));
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    if (!(cause >> 31)) {            /* the fault: its handler does its work, then IRET */
        iret_to(landing + 4, landing + 4, 0); /* not an NMI frame; its RIP is where it returns */
        __asm__ volatile("csrw mepc, %0" ::"r"(landing + 4));
        return;
    }
    unsigned delivered = REG(DELIVERED); /* acknowledges the interrupt */
    int fred = delivered >> DELIVERED_FRED_BIT & 1;
    unsigned at = delivered >> DELIVERED_AT_SHIFT & (AT_SEAMRET | AT_IRET);
    unsigned rip = boundary(landing, at), flags = at << PASS_AT_SHIFT;
    unsigned bitmap = delivered & 0xFFFF;
    int has_bitmap = (REG(CONFIG) & CFG_NMI_SOURCE) && fred;
    if (!fred) {
        if (nmi_state != NOT_RUNNING) { /* E1: a pass is running: mark it and return */
            unsigned outer = handler_enter(POLL_LATCHED);
            nmi_state = LATCHED;
            unsigned was = log_begin(LOG_LATCHED, 5);
            log_word(ENTRY_IDT);
            log_word(rip);
            log_word(landing);
            log_word(REG(CYCLE));
            log_word(flags);
            log_end(was);
            handler_leave(outer);
            iret_to(landing, rip, 1);
            return;
        }
        nmi_state = EXECUTING;
        do {
            default_do_nmi(ENTRY_IDT, rip, landing, bitmap, 0, flags);
            flags = PASS_RERUN;
        } while (nmi_state_dec() != NOT_RUNNING); /* LATCHED - 1 == EXECUTING: run again */
    } else {
        default_do_nmi(ENTRY_FRED, rip, landing, bitmap, has_bitmap, flags); /* E2: FRED nests, no guard */
    }
    iret_to(landing, rip, 1); /* the frame is an NMI frame */
}

/* SEAMCALL(TDH.VP.ENTER): returns 0 if the hardware refused it (an NMI is delivered first).
 * The CPU posts stores, so the store to ENTER is followed at once by the load of ENTERED: the bus
 * answers that load only after the store has completed (at SEAMRET), so no later instruction runs
 * in SEAM, and the pair is the SEAMCALL instruction; R_seam is the instruction after it. */
static int td_enter(void) {
    unsigned entered;
    __asm__ volatile(
        "sw zero, 0(%1)\n"
        "lw %0, 4(%1)\n" /* ENTERED */
        ".global r_seam\n"
        "r_seam:\n" PAD
        ".global r_seam_end\n"
        "r_seam_end:\n"
        : "=r"(entered)
        : "r"(&REG(ENTER))
        : "memory");
    return entered;
}

/* C2: KVM's manual pass for the NMI the exit consumed. */
__attribute__((noinline)) static void kvm_manual_nmi(unsigned qual) {
    unsigned cfg = REG(CONFIG);
    int idt = !(cfg & CFG_FRED);
    unsigned rip = ADDR(r_kvm), flags = 0; /* R_kvm: where this pass's IRET returns */
    if (idt) nmi_state = EXECUTING;
    do {
        default_do_nmi(ENTRY_KVM, rip, rip, qual, (cfg & CFG_NMI_SOURCE) != 0, flags);
        flags = PASS_RERUN;
    } while (idt && nmi_state_dec() != NOT_RUNNING);
    iret_landing = 0; /* its IRET returns into R_kvm's pad */
    __asm__ volatile(
        "sw %1, 0(%0)\n" /* IRET through the NMI frame KVM built */
        ".global r_kvm\n"
        "r_kvm:\n" PAD
        ".global r_kvm_end\n"
        "r_kvm_end:\n" ::"r"(&REG(IRET)),
        "r"(1)
        : "memory");
}

static void log_counts(void) {
    unsigned was = log_begin(LOG_COUNTS, 5);
    log_word(normal);
    log_word(unknown);
    log_word(swallowed);
    log_word(external_count);
    log_word(passes);
    log_end(was);
}

int main(void) {
    unsigned cfg = REG(CONFIG);
    unsigned entries = cfg >> CFG_ENTRIES_SHIFT & 0xFF, late_loops = cfg >> CFG_LATE_SHIFT & 0xFFFF;
    unsigned was = log_begin(LOG_MARKS, 6);
    log_word(ADDR(r_seam));
    log_word(ADDR(r_seam_end));
    log_word(ADDR(r_kvm));
    log_word(ADDR(r_kvm_end));
    log_word(ADDR(r_idle));
    log_word(ADDR(r_idle_end));
    log_end(was);
    __asm__ volatile("csrw mtvec, %0" ::"r"(&exc_nmi));
    __asm__ volatile("csrw 0xBC0, %0" ::"r"(1));      /* unmask external interrupt 0 */
    __asm__ volatile("csrs mie, %0" ::"r"(1u << 11)); /* MEIE */
    __asm__ volatile("csrsi mstatus, 8");             /* MIE: NMIs are not maskable by the host */
    fault_pending = (cfg & CFG_FAULT) != 0;
    int soak = (cfg & CFG_SOAK) != 0; /* make soak: enter forever, the counters logged as we go */
    int host_state = (cfg & CFG_HOST_STATE) != 0, refused = 0;
    if (host_state) refused = hs_setup();
    if (refused) entries = 0; /* the TD is never created */
    for (unsigned i = 0; soak || i < entries; i++) {
        while (!td_enter()) {
        }
        unsigned exit = REG(EXIT);
        if ((exit & 0x7F) == EXIT_REASON_NMI) {
            if (cfg & CFG_KVM_LATE) {
                instrumentable_point(); /* C1': the instrumentable window */
                for (volatile unsigned k = 0; k < late_loops; k++) {
                }
            }
            kvm_manual_nmi(exit >> 16);
            instrumentable_point(); /* out of the noinstr region (if any) */
            if (soak) fault_pending = (cfg & CFG_FAULT) != 0; /* one fault per NMI exit */
        }
        if (host_state) hs_after_exit();
        if (soak && (i & 15) == 15) log_counts();
    }
    __asm__ volatile( /* idle until the environment is done (ENV bit 0); each pass through the loop
                         * enters idle again: local_touch_nmi() forgets the last NMI's RIP */
        ".global r_idle\n"
        "r_idle:\n"
        "sw zero, 0(%1)\n"
        "lw t0, 0(%0)\n"
        "andi t0, t0, 1\n"
        "beqz t0, r_idle\n"
        ".global r_idle_end\n"
        "r_idle_end:\n" ::"r"(&REG(ENV)), "r"(&last_nmi_rip)
        : "t0", "memory");
    if (host_state && !refused) hs_return_to_user();
    log_counts();
    if (host_state) {
        was = log_begin(LOG_HOST_STATE, 2);
        log_word(refused);
        log_word(hs_writes);
        log_end(was);
    }
    REG(DONE) = 1;
    for (;;) {
    }
}

__attribute__((naked, section(".text.start"))) void _start(void) {
    __asm__ volatile(
        "la sp, _stack_top\n"
        "la t0, _bss_start\n"
        "la t1, _bss_end\n"
        "1: bgeu t0, t1, 2f\n"
        "sw zero, 0(t0)\n"
        "addi t0, t0, 4\n"
        "j 1b\n"
        "2: call main\n"
        "3: j 3b\n");
}
