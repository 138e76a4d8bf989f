package dev.segsam.bench;

import ai.onnxruntime.OnnxTensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * What a Java user would write around ONNX Runtime to do {@code segsam predict}'s job with one box: the whole-process
 * peer in docs/PERF.md. Plain JDK code only (ImageIO, no segsam classes), so its start-up is ORT's, not segsam's:
 * read the image, resize its longest side to 1024 (bilinear, pixel centres), normalise with SAM's mean/std, pad, run
 * the encoder and decoder sessions of {@link OrtSam} (as many intra-op threads as CPUs), threshold at 0, and write
 * {@code mask_0.png}, {@code overlay.png}, {@code result.json} and {@code outputs.safetensors} (embedding, low-res and
 * full-size logits), the same files as {@code segsam predict}.
 * <pre>
 * java -cp bench/target/benchmarks.jar dev.segsam.bench.OrtRun --onnx target/onnx --image img.png --box 150,100,420,330 --out dir
 * </pre>
 */
public final class OrtRun {
    private static final float[] MEAN = {123.675f, 116.28f, 103.53f}, STD = {58.395f, 57.12f, 57.375f};
    private static final int S = 1024;

    public static void main(String[] args) throws Exception {
        Path onnx = Path.of("target/onnx"), image = null, out = null;
        float[] box = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--onnx" -> onnx = Path.of(args[++i]);
                case "--image" -> image = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--box" -> {
                    String[] p = args[++i].split(",");
                    box = new float[] {Float.parseFloat(p[0]), Float.parseFloat(p[1]), Float.parseFloat(p[2]), Float.parseFloat(p[3])};
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (image == null || out == null || box == null) {
            System.err.println("usage: OrtRun --onnx DIR --image IMG --box x0,y0,x1,y1 --out DIR");
            System.exit(2);
        }
        long t0 = System.nanoTime();
        BufferedImage img = ImageIO.read(image.toFile());
        if (img == null) throw new IOException("cannot read " + image);
        int w = img.getWidth(), h = img.getHeight();
        double scale = (double) S / Math.max(h, w);
        int nh = (int) (h * scale + 0.5), nw = (int) (w * scale + 0.5);
        float[] input = preprocess(img, nh, nw);
        float sx = (float) nw / w, sy = (float) nh / h;
        float[][] boxes = {{box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy}};
        int threads = Runtime.getRuntime().availableProcessors();
        try (OrtSam ort = new OrtSam(onnx, threads)) {
            long t1 = System.nanoTime();
            try (OnnxTensor emb = ort.encode(input, S)) {
                long t2 = System.nanoTime();
                OrtSam.Masks m = ort.decodeBoxes(emb, boxes, h, w);
                long t3 = System.nanoTime();
                boolean[] mask = m.mask(0);
                Files.createDirectories(out);
                writeMask(mask, w, h, out.resolve("mask_0.png"));
                writeOverlay(img, mask, out.resolve("overlay.png"));
                long area = 0;
                for (boolean b : mask) if (b) area++;
                Files.writeString(out.resolve("result.json"), String.format(Locale.ROOT,
                        "{\"image\": \"%s\", \"width\": %d, \"height\": %d, \"prompts\": [{\"index\": 0, \"box\": [%s, %s, %s, %s], "
                                + "\"iou_predictions\": [%s], \"mask_file\": \"mask_0.png\", \"area\": %d}]}%n",
                        image, w, h, box[0], box[1], box[2], box[3], m.iou()[0], area));
                FloatBuf e = new FloatBuf(emb.getFloatBuffer());
                Map<String, Object[]> t = new LinkedHashMap<>();
                t.put("image_embedding", new Object[] {e.values, new long[] {1, 256, 64, 64}});
                t.put("iou_predictions.0", new Object[] {m.iou(), new long[] {1, 1}});
                t.put("mask_logits.0", new Object[] {m.logits(), new long[] {1, 1, h, w}});
                writeSafetensors(t, out.resolve("outputs.safetensors"));
                System.err.printf(Locale.ROOT, "OrtRun: load+sessions %.0f ms, encode %.0f ms, decode %.1f ms, total %.0f ms%n",
                        (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (System.nanoTime() - t0) / 1e6);
            }
        }
    }

    private record FloatBuf(float[] values) {
        FloatBuf(java.nio.FloatBuffer b) {
            this(read(b));
        }

        static float[] read(java.nio.FloatBuffer b) {
            float[] v = new float[b.remaining()];
            b.get(v);
            return v;
        }
    }

    /** Bilinear resize to nh×nw (pixel centres, edge clamp), (x − mean) / std, zero pad to S×S, CHW. */
    static float[] preprocess(BufferedImage img, int nh, int nw) {
        int w = img.getWidth(), h = img.getHeight();
        int[] rgb = img.getRGB(0, 0, w, h, null, 0, w);
        float[] out = new float[3 * S * S];
        for (int y = 0; y < nh; y++) {
            double fy = Math.max(0, (y + 0.5) * h / nh - 0.5);
            int y0 = Math.min((int) fy, h - 1), y1 = Math.min(y0 + 1, h - 1);
            float ay = (float) (fy - y0);
            for (int x = 0; x < nw; x++) {
                double fx = Math.max(0, (x + 0.5) * w / nw - 0.5);
                int x0 = Math.min((int) fx, w - 1), x1 = Math.min(x0 + 1, w - 1);
                float ax = (float) (fx - x0);
                int p00 = rgb[y0 * w + x0], p01 = rgb[y0 * w + x1], p10 = rgb[y1 * w + x0], p11 = rgb[y1 * w + x1];
                for (int c = 0; c < 3; c++) {
                    int sh = 16 - 8 * c;
                    float v0 = ((p00 >> sh) & 255) * (1 - ax) + ((p01 >> sh) & 255) * ax;
                    float v1 = ((p10 >> sh) & 255) * (1 - ax) + ((p11 >> sh) & 255) * ax;
                    float v = Math.round(v0 * (1 - ay) + v1 * ay);
                    out[c * S * S + y * S + x] = (v - MEAN[c]) / STD[c];
                }
            }
        }
        return out;
    }

    static void writeMask(boolean[] mask, int w, int h, Path path) throws IOException {
        BufferedImage m = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        byte[] px = ((java.awt.image.DataBufferByte) m.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < px.length; i++) px[i] = mask[i] ? (byte) 255 : 0;
        ImageIO.write(m, "png", path.toFile());
    }

    static void writeOverlay(BufferedImage img, boolean[] mask, Path path) throws IOException {
        int w = img.getWidth(), h = img.getHeight();
        BufferedImage o = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = img.getRGB(x, y);
                if (mask[y * w + x]) {
                    int r = ((p >> 16) & 255) / 2 + 127, g = ((p >> 8) & 255) / 2, b = (p & 255) / 2;
                    p = (r << 16) | (g << 8) | b;
                }
                o.setRGB(x, y, p);
            }
        }
        ImageIO.write(o, "png", path.toFile());
    }

    /** A minimal safetensors writer (F32 only): 8-byte header length, JSON header, little-endian data. */
    static void writeSafetensors(Map<String, Object[]> tensors, Path path) throws IOException {
        StringBuilder hdr = new StringBuilder("{");
        long off = 0;
        for (Map.Entry<String, Object[]> e : tensors.entrySet()) {
            float[] v = (float[]) e.getValue()[0];
            long[] shape = (long[]) e.getValue()[1];
            if (hdr.length() > 1) hdr.append(',');
            hdr.append('"').append(e.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":").append(java.util.Arrays.toString(shape).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(off).append(',').append(off + 4L * v.length).append("]}");
            off += 4L * v.length;
        }
        hdr.append('}');
        while ((hdr.length() + 8) % 8 != 0) hdr.append(' ');
        byte[] h = hdr.toString().getBytes(StandardCharsets.UTF_8);
        try (OutputStream os = Files.newOutputStream(path)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            os.write(len.array());
            os.write(h);
            for (Object[] t : tensors.values()) {
                float[] v = (float[]) t[0];
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                os.write(b.array());
            }
        }
    }
}
