package dev.segsam.cli.predict;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress bar on the error stream ({@code encoding [######······] 7/12 blocks, 4.1 s, ~2.9 s left}),
 * redrawn in place with a carriage return, finished with a newline. Quiet when {@code enabled} is false.
 */
public final class Progress {
    private final PrintWriter err;
    private final String label;
    private final int total;
    private final boolean enabled;
    private final long start = System.nanoTime();
    private long lastDraw;

    public Progress(PrintWriter err, String label, int total, boolean enabled) {
        this.err = err;
        this.label = label;
        this.total = total;
        this.enabled = enabled;
    }

    /** Reports that {@code done} of {@code total} steps are finished. */
    public void update(int done, String unit) {
        if (!enabled) return;
        long now = System.nanoTime();
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
