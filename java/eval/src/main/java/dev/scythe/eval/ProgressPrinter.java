package dev.scythe.eval;

import java.io.PrintStream;
import java.util.Locale;

/**
 * An evaluation's progress: on a terminal one bar, redrawn in place, with the time elapsed and an estimate of the time
 * left; elsewhere (a log, a pipe) one plain line per finished attempt, so that nothing is drawn over.
 */
public final class ProgressPrinter implements Evaluation.Listener {
    private static final int WIDTH = 30;
    private final PrintStream out;
    private final boolean terminal;
    private final long t0 = System.nanoTime();
    private int done, total;
    private String what = "";

    public ProgressPrinter(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public synchronized void starting(int done, int total, String what) {
        this.done = done;
        this.total = total;
        this.what = what;
        if (terminal) {
            int filled = total == 0 ? WIDTH : done * WIDTH / total;
            out.printf(Locale.ROOT, "\r[%s%s] %d/%d %s %-40.40s", "#".repeat(filled), " ".repeat(WIDTH - filled), done,
                    total, times(), what);
            if (done == total) {
                out.println();
            }
            out.flush();
        } else if (done == total) {
            out.printf(Locale.ROOT, "[%d/%d] done, %s%n", done, total, clock(elapsed()));
        }
    }

    @Override
    public synchronized void finished(Evaluation.Run run) {
        if (terminal) {
            return;
        }
        String said = run.verdict() == Provers.Verdict.UNKNOWN ? (run.timedOut() ? "timed out" : run.crashed()
                ? "crashed" : "no answer") : run.verdict().name().toLowerCase(Locale.ROOT);
        out.printf(Locale.ROOT, "[%d/%d] %s: %s in %.2f s (%s)%n", done + 1, total, what, said, run.seconds(), times());
        out.flush();
    }

    /** "0:34 elapsed, about 2:10 left"; no estimate before the first attempt ends. */
    private String times() {
        double elapsed = elapsed();
        String left = done == 0 ? "" : ", about " + clock(elapsed / done * (total - done)) + " left";
        return clock(elapsed) + " elapsed" + left;
    }

    private double elapsed() {
        return (System.nanoTime() - t0) / 1e9;
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
