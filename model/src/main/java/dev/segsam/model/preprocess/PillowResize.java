package dev.segsam.model.preprocess;

import dev.segsam.tensor.image.RgbImage;

/**
 * Pillow's antialiased BILINEAR resize of an 8-bit RGB image, bit-exact: the behaviour of Pillow 9.4
 * {@code Image.resize((newW, newH), Image.BILINEAR)} on an {@code RGB} image, i.e. the 8-bit path of
 * {@code src/libImaging/Resample.c}. This is what SAM's {@code ResizeLongestSide.apply_image} computes (through
 * torchvision's PIL {@code resize}); see {@code docs/design/sam.md} §4.2.
 *
 * <p>The algorithm, re-implemented from that description:
 * <ul>
 *   <li>per axis, a triangle filter {@code max(0, 1 − |x|)} widened by {@code max(in/out, 1)} when shrinking
 *       (Pillow always antialiases); weights are computed in double and normalised to sum 1;</li>
 *   <li>the weights become 22-bit fixed point, rounded half away from zero;</li>
 *   <li>each output sample is {@code clamp((2²¹ + Σ pixel·weight) >> 22, 0, 255)} in 32-bit integers;</li>
 *   <li>the horizontal pass runs first, into an 8-bit temporary image that covers only the source rows the vertical
 *       pass reads; a pass is skipped when its dimension does not change; an unchanged size is a plain copy.</li>
 * </ul>
 * Channels are independent and share coefficients. Shapes: {@code uint8 [H, W, 3]} in, {@code uint8 [newH, newW, 3]} out.
 */
public final class PillowResize {
    /** Fixed-point precision of the 8-bit path: 32 − 8 − 2 bits. */
    static final int PRECISION_BITS = 22;

    private PillowResize() {}

    /** Returns a new image of {@code newW × newH}; {@code src} is not modified. */
    public static RgbImage resize(RgbImage src, int newW, int newH) {
        if (newW <= 0 || newH <= 0) throw new IllegalArgumentException("target size " + newW + "x" + newH);
        int inW = src.width();
        int inH = src.height();
        if (newW == inW && newH == inH) return new RgbImage(inW, inH, src.rgb().clone());

        Coefficients vertical = Coefficients.bilinear(inH, newH);
        int firstRow = vertical.start[0];
        int lastRow = vertical.start[newH - 1] + vertical.count[newH - 1]; // exclusive

        byte[] pixels = src.rgb();
        int width = inW;
        int rowOffset = 0; // row r of `pixels` is source row r + rowOffset
        int rows = inH;
        if (newW != inW) {
            Coefficients horizontal = Coefficients.bilinear(inW, newW);
            pixels = horizontalPass(pixels, inW, firstRow, lastRow - firstRow, horizontal);
            width = newW;
            rowOffset = firstRow;
            rows = lastRow - firstRow;
        }
        if (newH == inH) {
            // Only the horizontal pass ran; with an unchanged height it covered every row.
            return new RgbImage(width, rows, pixels);
        }
        return new RgbImage(newW, newH, verticalPass(pixels, width, rowOffset, vertical));
    }

    private static byte[] horizontalPass(byte[] in, int inW, int firstRow, int rows, Coefficients k) {
        int outW = k.start.length;
        byte[] out = new byte[rows * outW * 3];
        int half = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < rows; y++) {
            int inRow = (y + firstRow) * inW * 3;
            int outRow = y * outW * 3;
            for (int x = 0; x < outW; x++) {
                int xmin = k.start[x];
                int n = k.count[x];
                int kOff = x * k.stride;
                int s0 = half;
                int s1 = half;
                int s2 = half;
                for (int i = 0; i < n; i++) {
                    int w = k.weights[kOff + i];
                    int p = inRow + (xmin + i) * 3;
                    s0 += (in[p] & 0xFF) * w;
                    s1 += (in[p + 1] & 0xFF) * w;
                    s2 += (in[p + 2] & 0xFF) * w;
                }
                int o = outRow + x * 3;
                out[o] = clip8(s0);
                out[o + 1] = clip8(s1);
                out[o + 2] = clip8(s2);
            }
        }
        return out;
    }

    private static byte[] verticalPass(byte[] in, int width, int rowOffset, Coefficients k) {
        int outH = k.start.length;
        byte[] out = new byte[outH * width * 3];
        int half = 1 << (PRECISION_BITS - 1);
        int rowBytes = width * 3;
        for (int y = 0; y < outH; y++) {
            int ymin = k.start[y] - rowOffset;
            int n = k.count[y];
            int kOff = y * k.stride;
            int outRow = y * rowBytes;
            for (int b = 0; b < rowBytes; b++) {
                int s = half;
                for (int i = 0; i < n; i++) {
                    s += (in[(ymin + i) * rowBytes + b] & 0xFF) * k.weights[kOff + i];
                }
                out[outRow + b] = clip8(s);
            }
        }
        return out;
    }

    /** {@code clamp(acc >> 22, 0, 255)} with an arithmetic shift. */
    static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Per-output-sample source windows and fixed-point weights along one axis. */
    static final class Coefficients {
        final int[] start;
        final int[] count;
        final int[] weights; // stride entries per output sample
        final int stride;

        private Coefficients(int[] start, int[] count, int[] weights, int stride) {
            this.start = start;
            this.count = count;
            this.weights = weights;
            this.stride = stride;
        }

        /** The bilinear (support 1) coefficients for resampling {@code inSize} samples to {@code outSize}. */
        static Coefficients bilinear(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // the triangle's support is 1.0
            int stride = (int) Math.ceil(support) * 2 + 1;
            int[] start = new int[outSize];
            int[] count = new int[outSize];
            int[] fixed = new int[outSize * stride];
            double[] w = new double[stride];
            double ss = 1.0 / filterScale;
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = Math.max(0, (int) (center - support + 0.5));
                int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
                double sum = 0.0;
                for (int x = 0; x < xmax; x++) {
                    double v = triangle((x + xmin - center + 0.5) * ss);
                    w[x] = v;
                    sum += v;
                }
                for (int x = 0; x < xmax; x++) {
                    double v = sum != 0.0 ? w[x] / sum : w[x];
                    fixed[xx * stride + x] = toFixed(v);
                }
                start[xx] = xmin;
                count[xx] = xmax;
            }
            return new Coefficients(start, count, fixed, stride);
        }

        private static double triangle(double x) {
            double a = x < 0.0 ? -x : x;
            return a < 1.0 ? 1.0 - a : 0.0;
        }

        /** Round half away from zero to 22-bit fixed point, as Pillow's {@code normalize_coeffs_8bpc}. */
        static int toFixed(double w) {
            double scaled = w * (1 << PRECISION_BITS);
            return w < 0 ? (int) (-0.5 + scaled) : (int) (0.5 + scaled);
        }
    }
}
