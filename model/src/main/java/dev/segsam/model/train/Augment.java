package dev.segsam.model.train;

import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Training-time augmentation of a {@link TrainSample} (ours; docs/TRAINING.md): a random similarity transform about
 * the image centre — scale in [1 − s, 1 + s], rotation in ±r degrees, shift by up to ±t of the side — applied to the
 * image (bilinear) and to every mask (nearest neighbour), then a random intensity change of the grey values — gamma
 * in [1/γ, γ], contrast ×[1 − c, 1 + c] about mid-grey, brightness ±b·255 — where black background (0) stays black.
 * Optionally a left–right mirror, which is only right for class-agnostic (binary) training: it turns a left structure
 * into a right one. Targets that shrink below a tenth of their area (moved out of the picture) are dropped.
 *
 * @param scale      s (0 = none)
 * @param rotateDeg  r
 * @param shift      t, a fraction of the image side
 * @param gamma      γ ≥ 1 (1 = none)
 * @param contrast   c
 * @param brightness b
 * @param mirror     mirror left–right with probability ½
 */
public record Augment(double scale, double rotateDeg, double shift, double gamma, double contrast, double brightness, boolean mirror) {
    /** No augmentation. */
    public static final Augment NONE = new Augment(0, 0, 0, 1, 0, 0, false);

    public Augment {
        if (scale < 0 || scale >= 1 || rotateDeg < 0 || shift < 0 || gamma < 1 || contrast < 0 || contrast >= 1 || brightness < 0) {
            throw new IllegalArgumentException("augmentation ranges: 0 ≤ scale < 1, rotation ≥ 0, shift ≥ 0, gamma ≥ 1, 0 ≤ contrast < 1, brightness ≥ 0");
        }
    }

    /** Our default for training on MRI/CT slices: ±10 % scale, ±10°, ±6 % shift, gamma 1.4, contrast ±15 %, brightness ±5 %. */
    public static Augment standard(boolean mirror) {
        return new Augment(0.10, 10, 0.06, 1.4, 0.15, 0.05, mirror);
    }

    public boolean none() {
        return scale == 0 && rotateDeg == 0 && shift == 0 && gamma == 1 && contrast == 0 && brightness == 0 && !mirror;
    }

    /** A randomly transformed copy of {@code s} (same id and size). */
    public TrainSample apply(TrainSample s, Random rnd) {
        int w = s.image().width(), h = s.image().height();
        double sc = 1 + (rnd.nextDouble() * 2 - 1) * scale;
        double th = Math.toRadians((rnd.nextDouble() * 2 - 1) * rotateDeg);
        double tx = (rnd.nextDouble() * 2 - 1) * shift * w, ty = (rnd.nextDouble() * 2 - 1) * shift * h;
        boolean flip = mirror && rnd.nextBoolean();
        double g = Math.exp((rnd.nextDouble() * 2 - 1) * Math.log(gamma));
        double ct = 1 + (rnd.nextDouble() * 2 - 1) * contrast, br = (rnd.nextDouble() * 2 - 1) * brightness * 255;
        // inverse map: output pixel (x, y) samples the source at A⁻¹((x, y) − c − t) + c
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0, cos = Math.cos(th) / sc, sin = Math.sin(th) / sc;
        float[] srcX = new float[w * h], srcY = new float[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double dx = (flip ? w - 1 - x : x) - cx - tx, dy = y - cy - ty;
                srcX[y * w + x] = (float) (cos * dx + sin * dy + cx);
                srcY[y * w + x] = (float) (-sin * dx + cos * dy + cy);
            }
        }
        byte[] in = s.image().rgb(), out = new byte[in.length];
        int[] lut = new int[256];
        for (int v = 1; v < 256; v++) {
            double u = Math.pow(v / 255.0, g) * 255;
            u = (u - 127.5) * ct + 127.5 + br;
            lut[v] = (int) Math.max(1, Math.min(255, Math.round(u))); // stays non-zero: black background keeps its meaning
        }
        for (int i = 0; i < w * h; i++) {
            double sx = srcX[i], sy = srcY[i];
            int x0 = (int) Math.floor(sx), y0 = (int) Math.floor(sy);
            double fx = sx - x0, fy = sy - y0;
            for (int c = 0; c < 3; c++) {
                double v = (1 - fx) * (1 - fy) * px(in, w, h, x0, y0, c) + fx * (1 - fy) * px(in, w, h, x0 + 1, y0, c)
                        + (1 - fx) * fy * px(in, w, h, x0, y0 + 1, c) + fx * fy * px(in, w, h, x0 + 1, y0 + 1, c);
                int q = (int) Math.round(v);
                out[3 * i + c] = (byte) (q == 0 ? 0 : lut[Math.min(255, q)]);
            }
        }
        List<TrainSample.Target> targets = new ArrayList<>();
        for (TrainSample.Target t : s.targets()) {
            byte[] m = new byte[w * h];
            int area = 0, before = 0;
            for (byte b : t.mask()) if (b != 0) before++;
            for (int i = 0; i < m.length; i++) {
                int x = (int) Math.round(srcX[i]), y = (int) Math.round(srcY[i]);
                if (x >= 0 && y >= 0 && x < w && y < h && t.mask()[y * w + x] != 0) {
                    m[i] = 1;
                    area++;
                }
            }
            if (area > 0 && area * 10 >= before) targets.add(new TrainSample.Target(t.classIndex(), t.className(), m));
        }
        return new TrainSample(s.id(), new RgbImage(w, h, out), targets);
    }

    private static int px(byte[] rgb, int w, int h, int x, int y, int c) {
        if (x < 0 || y < 0 || x >= w || y >= h) return 0;
        return rgb[3 * (y * w + x) + c] & 0xff;
    }
}
