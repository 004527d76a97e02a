# The fixed-rate loop: deadline scheduling (each period's deadline is the
# previous one plus the period, so jitter does not accumulate), overrun
# counting, a watchdog fed only when the step reports it checked itself, and
# a deterministic point for garbage collection (in the slack after the step,
# every gc_every periods, never in the middle of one: gc_collect(slack_us) is
# offered the microseconds left before the period's end and decides what
# fits; inversa.app.App.gc_in_slack), and a one-shot pause after a period
# (`pause`: a job the step put off to after its own end, the App's flash
# writes: run once the period is over and fed, not counted as an overrun;
# the loop starts again after it on a new phase).  Clock,
# watchdog, sleep and gc are injected so the loop runs in virtual time in
# tests.
#
# Usage (board):
#     import time
#     sch = Scheduler(time, 10000, loop_step, wdt, time.sleep_us, app.gc_in_slack)
#     sch.run()                    # loop_step() returns ctrl.self_check(out)
# Usage (test):
#     sch = Scheduler(fake_clock, 10000, step, fake_wdt, fake_clock.sleep_us)
#     sch.run(1000)

from inversa.compat import ticks_add, ticks_diff


class Scheduler:
    def __init__(
        self,
        clock,
        period_us,
        step,
        watchdog=None,
        sleep_us=None,
        gc_collect=None,
        gc_every=50,
        gc_budget_us=2000,
        max_late_periods=50,
    ):
        if period_us < 1000:
            from inversa.error_text import text

            raise ValueError(text(36))
        if gc_every < 1:
            from inversa.error_text import text

            raise ValueError(text(37))
        self._clock = clock
        self.period_us = period_us
        self._step = step
        self._wdt = watchdog
        self._sleep_us = sleep_us
        self._gc = gc_collect
        self._gc_every = gc_every
        self._gc_budget = gc_budget_us
        self._max_late = max_late_periods
        self._deadline = clock.ticks_us()
        self.periods = 0
        self.overruns = 0  # periods whose work ended after the period's end
        self.missed = 0  # whole periods skipped because the loop was late
        self.unhealthy = 0  # periods whose step did not check out (no feed)
        self.feeds = 0
        self.gc_runs = 0
        self.gc_deferred = 0
        self.gc_stretched = 0  # gc hooks that ran past their period's end
        self.work_us = 0
        self.work_max_us = 0
        self._late_run = 0  # consecutive overrunning periods
        self._since_gc = 0
        # A job the step puts off to after its period (set by the step, run
        # once, then None again).
        self.pause = None

    def run_once(self):
        clock = self._clock
        wait = ticks_diff(self._deadline, clock.ticks_us())
        if wait > 0 and self._sleep_us is not None:
            self._sleep_us(wait)
        t0 = clock.ticks_us()
        late = ticks_diff(t0, self._deadline)
        if late >= self.period_us:  # whole periods lost: count, re-anchor, no burst
            self.missed += late // self.period_us
            self._deadline = t0
        ok = self._step()
        t1 = clock.ticks_us()
        work = ticks_diff(t1, t0)
        self.work_us = work
        if work > self.work_max_us:
            self.work_max_us = work
        end = ticks_add(self._deadline, self.period_us)
        if ticks_diff(t1, end) > 0:
            self.overruns += 1
            self._late_run += 1
        else:
            self._late_run = 0
        self.periods += 1
        # The watchdog is fed only after the step checked itself and the loop
        # keeps its rate; otherwise the hardware resets the board.
        if ok and self._late_run < self._max_late:
            if self._wdt is not None:
                self._wdt.feed()
            self.feeds += 1
        else:
            self.unhealthy += 1
        self._deadline = end
        p = self.pause
        if p is not None:
            # The period's work is done, its outputs out and the watchdog
            # fed: the job may stall the CPU (a flash write: 5-110 ms on an
            # RP2040).  Then the next period starts at once, on a new phase
            # (no burst of late periods), and this period offers no gc.
            self.pause = None
            p()
            t2 = clock.ticks_us()
            if ticks_diff(t2, end) > 0:
                self._deadline = t2
            return
        self._since_gc += 1
        if self._gc is not None and self._since_gc >= self._gc_every:
            slack = ticks_diff(end, clock.ticks_us())
            if slack >= self._gc_budget:
                self._gc(slack)  # it decides what fits the slack
                self.gc_runs += 1
                self._since_gc = 0
                # The hook runs only where the table cannot move (App.gc_in_slack)
                # and may outlast the slack (a heap walk is ~8 ms on an RP2040):
                # like a pause, the next period then starts at once on a new
                # phase, with its whole budget, not late against the old one.
                t2 = clock.ticks_us()
                if ticks_diff(t2, end) > 0:
                    self._deadline = t2
                    self.gc_stretched += 1
            else:
                self.gc_deferred += 1

    def run(self, n=-1):
        if not self.periods:
            # the loop's phase starts with the loop, not with the build: the
            # boot's last steps after it are no late period (one overrun
            # counted in SELFTEST on the emulated Pico)
            self._deadline = self._clock.ticks_us()
        while n != 0:
            self.run_once()
            if n > 0:
                n -= 1
