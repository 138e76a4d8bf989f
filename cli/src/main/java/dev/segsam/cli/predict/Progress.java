package dev.segsam.cli.predict;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on the error stream ({@code encoding [######······] 7/12 blocks, 4.1 s, ~2.9 s left}),
 * redrawn in place with a carriage return, finished with a newline. Quiet when {@code enabled} is false. When the
 * error stream is not a terminal (a log file, a pipe, CI) there is no redrawing: one plain line at each quarter of the
 * work (25, 50, 75, 100 %), so logs stay short.
 */
public final class Progress {
    private final PrintWriter err;
    private final String label;
    private final int total;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private final boolean terminal;
    private long lastDraw;
    private int lastQuarter;

    /** A bar on {@code err}, redrawn in place when the JVM's console is a terminal. */
    public Progress(PrintWriter err, String label, int total, boolean enabled) {
        this(err, label, total, enabled, isTerminal());
    }

    /** A bar on {@code err}; {@code terminal} false writes a plain line per quarter instead of redrawing. */
    public Progress(PrintWriter err, String label, int total, boolean enabled, boolean terminal) {
        this.err = err;
        this.label = label;
        this.total = total;
        this.enabled = enabled;
        this.terminal = terminal;
    }

    /** Whether the JVM's console is an interactive terminal (false when the output is redirected). */
    public static boolean isTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /** Reports that {@code done} of {@code total} steps are finished. */
    public void update(int done, String unit) {
        if (!enabled) return;
        long now = System.nanoTime();
        if (!terminal) {
            int quarter = total <= 0 ? 4 : (int) (4L * Math.min(done, total) / total);
            if (quarter <= lastQuarter) return;
            lastQuarter = quarter;
            double s = (now - start) / 1e9;
            err.println(String.format(Locale.ROOT, "%s %d/%d %s (%d %%), %.1f s", label, done, total, unit, quarter * 25, s));
            err.flush();
            return;
        }
        if (done < total && done > 0 && now - lastDraw < 250_000_000L) return; // at most 4 redraws a second
        lastDraw = now;
        double s = (now - start) / 1e9;
        int width = 24, fill = total == 0 ? width : (int) ((long) width * done / total);
        String eta = done > 0 && done < total ? String.format(Locale.ROOT, ", ~%.1f s left", s / done * (total - done)) : "";
        err.print(String.format(Locale.ROOT, "\r%s [%s%s] %d/%d %s, %.1f s%s   ", label, "#".repeat(fill), "·".repeat(width - fill), done, total, unit, s, eta));
        if (done >= total) err.println();
        err.flush();
    }
}
