package dev.segsam.cli.train;

import dev.segsam.cli.predict.BitmapFont;
import dev.segsam.tensor.image.RgbImage;
import java.util.List;
import java.util.Locale;

/**
 * Small PNG charts for training logs and evaluation reports: a line plot of several series and a bar chart. Drawn
 * into an {@link RgbImage} with segsam's 5×7 bitmap font, so they render identically on headless machines with no
 * fonts installed (where Java2D text — and the charting libraries built on it — can fail).
 */
public final class Plots {
    private Plots() {}

    static final int[][] COLOURS = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40}, {148, 103, 189}, {140, 86, 75}, {227, 119, 194}};
    private static final int[] INK = {30, 30, 30}, GRID = {225, 225, 225}, WHITE = {255, 255, 255};

    /** A named series of y values at x = 1, 2, ... (NaN values are skipped). */
    public record Series(String name, double[] y) {}

    /** Line plot, y from 0 (or the minimum, if negative) to the maximum, with a legend. */
    public static RgbImage lines(String title, String xLabel, List<Series> series, int width, int height) {
        RgbImage img = canvas(width, height);
        int left = 60, right = width - 20, top = 30, bottom = height - 40;
        double max = Double.NEGATIVE_INFINITY, min = 0;
        int n = 0;
        for (Series s : series) {
            n = Math.max(n, s.y().length);
            for (double v : s.y()) {
                if (Double.isFinite(v)) {
                    max = Math.max(max, v);
                    min = Math.min(min, v);
                }
            }
        }
        if (!(max > min)) max = min + 1;
        axes(img, left, right, top, bottom, min, max, title);
        BitmapFont.draw(img, xLabel + " (1.." + n + ")", (left + right) / 2 - BitmapFont.width(xLabel, 1) / 2, bottom + 22, 1, INK);
        for (int si = 0; si < series.size(); si++) {
            double[] y = series.get(si).y();
            int[] col = COLOURS[si % COLOURS.length];
            int px = -1, py = -1;
            for (int i = 0; i < y.length; i++) {
                if (!Double.isFinite(y[i])) continue;
                int x = left + (int) Math.round((right - left) * (n <= 1 ? 0.5 : (double) i / (n - 1)));
                int yy = bottom - (int) Math.round((bottom - top) * (y[i] - min) / (max - min));
                if (px >= 0) line(img, px, py, x, yy, col);
                px = x;
                py = yy;
            }
            int ly = top + 4 + si * 12;
            fill(img, right - 130, ly, right - 118, ly + 7, col);
            BitmapFont.draw(img, series.get(si).name(), right - 112, ly, 1, INK);
        }
        return img;
    }

    /** Bar chart of labelled values in [0, 1] (e.g. per-class Dice), values printed on the bars. */
    public static RgbImage bars(String title, List<String> labels, double[] values, int width, int height) {
        RgbImage img = canvas(width, height);
        int left = 60, right = width - 20, top = 30, bottom = height - 70;
        axes(img, left, right, top, bottom, 0, 1, title);
        int n = values.length, slot = (right - left) / Math.max(n, 1);
        for (int i = 0; i < n; i++) {
            double v = Double.isFinite(values[i]) ? Math.max(0, Math.min(1, values[i])) : 0;
            int x0 = left + i * slot + slot / 6, x1 = left + (i + 1) * slot - slot / 6;
            int y0 = bottom - (int) Math.round((bottom - top) * v);
            fill(img, x0, y0, x1, bottom, COLOURS[0]);
            String val = Double.isFinite(values[i]) ? String.format(Locale.ROOT, "%.2f", values[i]) : "N/A";
            BitmapFont.draw(img, val, (x0 + x1) / 2 - BitmapFont.width(val, 1) / 2, Math.max(top, y0 - 10), 1, INK);
            String lab = labels.get(i).length() > 14 ? labels.get(i).substring(0, 14) : labels.get(i);
            // labels alternate between two rows so neighbours do not overlap
            BitmapFont.draw(img, lab, (x0 + x1) / 2 - BitmapFont.width(lab, 1) / 2, bottom + 8 + (i % 2) * 12, 1, INK);
        }
        return img;
    }

    private static RgbImage canvas(int w, int h) {
        RgbImage img = RgbImage.black(w, h);
        fill(img, 0, 0, w - 1, h - 1, WHITE);
        return img;
    }

    private static void axes(RgbImage img, int left, int right, int top, int bottom, double min, double max, String title) {
        for (int t = 0; t <= 4; t++) {
            int y = bottom - (bottom - top) * t / 4;
            line(img, left, y, right, y, GRID);
            String lab = String.format(Locale.ROOT, Math.abs(max - min) >= 10 ? "%.0f" : "%.2f", min + (max - min) * t / 4);
            BitmapFont.draw(img, lab, left - 6 - BitmapFont.width(lab, 1), y - 3, 1, INK);
        }
        line(img, left, top, left, bottom, INK);
        line(img, left, bottom, right, bottom, INK);
        BitmapFont.draw(img, title, left, 10, 1, INK);
    }

    private static void fill(RgbImage img, int x0, int y0, int x1, int y1, int[] c) {
        for (int y = Math.max(0, y0); y <= Math.min(img.height() - 1, y1); y++) {
            for (int x = Math.max(0, x0); x <= Math.min(img.width() - 1, x1); x++) for (int k = 0; k < 3; k++) img.set(x, y, k, c[k]);
        }
    }

    private static void line(RgbImage img, int x0, int y0, int x1, int y1, int[] c) {
        int steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) + 1;
        for (int s = 0; s <= steps; s++) {
            int x = x0 + (x1 - x0) * s / steps, y = y0 + (y1 - y0) * s / steps;
            if (x >= 0 && y >= 0 && x < img.width() && y < img.height()) for (int k = 0; k < 3; k++) img.set(x, y, k, c[k]);
        }
    }
}
