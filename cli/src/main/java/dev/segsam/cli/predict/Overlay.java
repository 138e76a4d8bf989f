package dev.segsam.cli.predict;

import dev.segsam.model.Prompt;
import dev.segsam.tensor.image.RgbImage;
import java.util.List;

/**
 * Draws masks in colour over the image (50 % blend, a brighter one-pixel outline) and the prompts on top: boxes as
 * rectangles, foreground points as green discs and background points as red discs, each with a dark rim;
 * {@link #withLegend} adds a strip naming each mask's prompt and class.
 */
public final class Overlay {
    private Overlay() {}

    /** Distinct colours for successive masks. */
    static final int[][] PALETTE = {
        {30, 144, 255}, {255, 165, 0}, {50, 205, 50}, {238, 130, 238}, {255, 215, 0}, {0, 206, 209}, {255, 99, 71}, {147, 112, 219},
    };

    /** A new image: {@code img} with {@code masks.get(i)} ({@code w·h} booleans, row-major) in colour i, and the prompts. */
    public static RgbImage render(RgbImage img, List<boolean[]> masks, List<Prompt> prompts) {
        RgbImage out = new RgbImage(img.width(), img.height(), img.rgb().clone());
        for (int m = 0; m < masks.size(); m++) paintMask(out, masks.get(m), m);
        paintPrompts(out, prompts);
        return out;
    }

    /** Paints mask number {@code m} ({@code w·h} booleans) onto {@code out} in colour m: what {@link #render} does per mask. */
    public static void paintMask(RgbImage out, boolean[] mask, int m) {
        int w = out.width(), h = out.height();
        int[] col = PALETTE[m % PALETTE.length];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (!mask[y * w + x]) continue;
                boolean edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || !mask[y * w + x - 1] || !mask[y * w + x + 1]
                        || !mask[(y - 1) * w + x] || !mask[(y + 1) * w + x];
                for (int c = 0; c < 3; c++) {
                    int v = out.get(x, y, c);
                    out.set(x, y, c, edge ? Math.min(255, col[c] + 40) : (v + col[c] + 1) / 2);
                }
            }
        }
    }

    /** Draws the prompts onto {@code out}: what {@link #render} does after the masks. */
    public static void paintPrompts(RgbImage out, List<Prompt> prompts) {
        int w = out.width(), h = out.height();
        int r = Math.max(3, Math.min(w, h) / 100);
        for (Prompt p : prompts) {
            if (p.hasBox()) rectangle(out, p.box(), new int[] {255, 255, 0}, Math.max(1, r / 2));
            for (int i = 0; i < p.pointCount(); i++) {
                int[] col = p.isPositive(i) ? new int[] {0, 230, 0} : new int[] {230, 0, 0};
                disc(out, Math.round(p.pointX(i)), Math.round(p.pointY(i)), r, col);
            }
        }
    }

    /**
     * {@code picture} with a legend strip below it: one row per entry, a swatch in mask colour i ({@link #PALETTE}) and
     * the entry's text (e.g. {@code 0: liver 0.99} — prompt, class, probability).
     */
    public static RgbImage withLegend(RgbImage picture, List<String> entries) {
        int w = picture.width(), h = picture.height();
        int scale = Math.max(1, Math.min(3, w / 200 + 1)), row = (BitmapFont.H + 4) * scale;
        int legendH = Math.max(entries.size(), 1) * row + 2 * scale;
        RgbImage out = RgbImage.black(w, h + legendH);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) out.set(x, y, c, picture.get(x, y, c));
        int y = h + scale;
        for (int i = 0; i < entries.size(); i++) {
            int[] col = PALETTE[i % PALETTE.length];
            for (int dy = 0; dy < BitmapFont.H * scale; dy++) {
                for (int dx = 0; dx < BitmapFont.H * scale; dx++) put(out, 2 * scale + dx, y + 2 * scale + dy, col);
            }
            BitmapFont.draw(out, entries.get(i), (4 + BitmapFont.H) * scale, y + 2 * scale, scale, new int[] {235, 235, 235});
            y += row;
        }
        return out;
    }

    /** {@code picture} under a title bar ({@code title} in the bitmap font, upper case). */
    public static RgbImage titled(RgbImage picture, String title) {
        int w = picture.width(), scale = Math.max(1, Math.min(3, w / 200 + 1)), bar = (BitmapFont.H + 4) * scale;
        RgbImage out = RgbImage.black(w, picture.height() + bar);
        for (int y = 0; y < picture.height(); y++) for (int x = 0; x < w; x++) for (int c = 0; c < 3; c++) out.set(x, bar + y, c, picture.get(x, y, c));
        BitmapFont.draw(out, title, 2 * scale, 2 * scale, scale, new int[] {235, 235, 235});
        return out;
    }

    /** The pictures side by side, left to right, 4 black pixels apart, top-aligned. */
    public static RgbImage sideBySide(List<RgbImage> pictures) {
        int w = -4, h = 0;
        for (RgbImage p : pictures) {
            w += p.width() + 4;
            h = Math.max(h, p.height());
        }
        RgbImage out = RgbImage.black(Math.max(w, 1), Math.max(h, 1));
        int ox = 0;
        for (RgbImage p : pictures) {
            for (int y = 0; y < p.height(); y++) for (int x = 0; x < p.width(); x++) for (int c = 0; c < 3; c++) out.set(ox + x, y, c, p.get(x, y, c));
            ox += p.width() + 4;
        }
        return out;
    }

    private static void rectangle(RgbImage img, float[] box, int[] col, int t) {
        int x0 = Math.round(box[0]), y0 = Math.round(box[1]), x1 = Math.round(box[2]) - 1, y1 = Math.round(box[3]) - 1;
        for (int k = 0; k < t; k++) {
            for (int x = x0; x <= x1; x++) {
                put(img, x, y0 + k, col);
                put(img, x, y1 - k, col);
            }
            for (int y = y0; y <= y1; y++) {
                put(img, x0 + k, y, col);
                put(img, x1 - k, y, col);
            }
        }
    }

    private static void disc(RgbImage img, int cx, int cy, int r, int[] col) {
        for (int dy = -r - 1; dy <= r + 1; dy++) {
            for (int dx = -r - 1; dx <= r + 1; dx++) {
                int d2 = dx * dx + dy * dy;
                if (d2 <= r * r) put(img, cx + dx, cy + dy, col);
                else if (d2 <= (r + 1) * (r + 1)) put(img, cx + dx, cy + dy, new int[] {20, 20, 20});
            }
        }
    }

    private static void put(RgbImage img, int x, int y, int[] col) {
        if (x < 0 || y < 0 || x >= img.width() || y >= img.height()) return;
        for (int c = 0; c < 3; c++) img.set(x, y, c, col[c]);
    }
}
