package dev.segsam.cli.predict;

import dev.segsam.tensor.image.RgbImage;
import java.util.List;

/**
 * A semantic label map as a picture: each class in its colour blended over the image (background left as is), with a
 * legend strip below listing every class that occurs, its colour and name.
 */
public final class LabelMapImage {
    private LabelMapImage() {}

    /** A colour per class id (1..K), distinct and stable. */
    public static int[] colour(int k) {
        if (k <= Overlay.PALETTE.length) return Overlay.PALETTE[k - 1];
        // golden-angle hues beyond the palette
        double h = (k * 137.508) % 360 / 60.0;
        double x = 1 - Math.abs(h % 2 - 1);
        double[] rgb = h < 1 ? new double[] {1, x, 0} : h < 2 ? new double[] {x, 1, 0} : h < 3 ? new double[] {0, 1, x}
                : h < 4 ? new double[] {0, x, 1} : h < 5 ? new double[] {x, 0, 1} : new double[] {1, 0, x};
        return new int[] {(int) (60 + 195 * rgb[0]), (int) (60 + 195 * rgb[1]), (int) (60 + 195 * rgb[2])};
    }

    /**
     * @param labels {@code H·W} class ids (0 = background), row-major
     * @param names  class names for ids 1..K ({@code names.get(k − 1)})
     */
    public static RgbImage render(RgbImage img, int[] labels, List<String> names) {
        int w = img.width(), h = img.height(), K = names.size();
        boolean[] present = new boolean[K + 1];
        for (int l : labels) if (l > 0 && l <= K) present[l] = true;
        int scale = Math.max(1, Math.min(3, w / 200 + 1)), row = (BitmapFont.H + 4) * scale;
        int entries = 0;
        for (int k = 1; k <= K; k++) if (present[k]) entries++;
        int legendH = (Math.max(entries, 1)) * row + 2 * scale;
        RgbImage out = RgbImage.black(w, h + legendH);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int l = labels[y * w + x];
                for (int c = 0; c < 3; c++) {
                    int v = img.get(x, y, c);
                    out.set(x, y, c, l > 0 && l <= K ? (v + 2 * colour(l)[c]) / 3 : v);
                }
            }
        }
        int y = h + scale;
        if (entries == 0) BitmapFont.draw(out, "no class predicted", 2 * scale, y + 2 * scale, scale, new int[] {220, 220, 220});
        for (int k = 1; k <= K; k++) {
            if (!present[k]) continue;
            int[] col = colour(k);
            for (int dy = 0; dy < BitmapFont.H * scale; dy++) {
                for (int dx = 0; dx < BitmapFont.H * scale; dx++) {
                    int px = 2 * scale + dx, py = y + 2 * scale + dy;
                    if (px < w && py < out.height()) for (int c = 0; c < 3; c++) out.set(px, py, c, col[c]);
                }
            }
            BitmapFont.draw(out, k + " " + names.get(k - 1), (4 + BitmapFont.H) * scale, y + 2 * scale, scale, new int[] {235, 235, 235});
            y += row;
        }
        return out;
    }
}
