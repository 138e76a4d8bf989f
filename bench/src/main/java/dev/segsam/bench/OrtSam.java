package dev.segsam.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * SAM ViT-B in ONNX Runtime (Java API): the peer that a Java user would run today. Two sessions over the files that
 * {@code tools/reference/export_onnx.py} writes ({@code sam_vitb_encoder.onnx}: preprocessed image → embedding;
 * {@code sam_vitb_decoder.onnx}: embedding + points/box → single-mask logits at the original size, IoU, low-res
 * logits). All graph optimisations on, {@code threads} intra-op threads, one inter-op thread, ORT's own arena.
 */
public final class OrtSam implements AutoCloseable {
    public static final String ENCODER = "sam_vitb_encoder.onnx", DECODER = "sam_vitb_decoder.onnx";

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession encoder, decoder;

    /** The directory holds both files. */
    public static boolean present(Path dir) {
        return Files.isRegularFile(dir.resolve(ENCODER)) && Files.isRegularFile(dir.resolve(DECODER));
    }

    /** The one-line reason ORT cannot run, for benchmarks and the runner. */
    public static String absentMessage(Path dir) {
        return "ONNX files absent in " + dir.toAbsolutePath() + ": run `python3 tools/reference/export_onnx.py " + dir
                + "` (Debian python3-torch, python3-onnx) to generate them";
    }

    public OrtSam(Path dir, int threads) throws OrtException {
        if (!present(dir)) throw new IllegalStateException(absentMessage(dir));
        encoder = env.createSession(dir.resolve(ENCODER).toString(), options(threads));
        decoder = env.createSession(dir.resolve(DECODER).toString(), options(threads));
    }

    private static OrtSession.SessionOptions options(int threads) throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        o.setIntraOpNumThreads(threads);
        o.setInterOpNumThreads(1);
        o.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        return o;
    }

    /** The embedding {@code [1, 256, 64, 64]} of a preprocessed image {@code [1, 3, S, S]} (S = 1024). Close it. */
    public OnnxTensor encode(float[] image, int size) throws OrtException {
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(image), new long[] {1, 3, size, size});
             OrtSession.Result r = encoder.run(Map.of("image", in))) {
            // copy out: the result's tensors die with the result
            OnnxTensor emb = (OnnxTensor) r.get(0);
            FloatBuffer fb = emb.getFloatBuffer();
            return OnnxTensor.createTensor(env, fb, emb.getInfo().getShape());
        }
    }

    /** One decoder pass's outputs: logits {@code [B, 1, H, W]} (flattened), IoU {@code [B]}. */
    public record Masks(int batch, int height, int width, float[] logits, float[] iou) {
        /** The binary mask of prompt {@code b} (logit &gt; 0). */
        public boolean[] mask(int b) {
            boolean[] m = new boolean[height * width];
            int off = b * height * width;
            for (int i = 0; i < m.length; i++) m[i] = logits[off + i] > 0f;
            return m;
        }
    }

    /**
     * Decodes {@code B} prompts of {@code n} points each: {@code coords} {@code [B·n·2]} in the model input frame,
     * {@code labels} {@code [B·n]} (1 fg, 0 bg, 2/3 box corners, −1 padding), upsampled to {@code origH × origW}.
     */
    public Masks decode(OnnxTensor embedding, float[] coords, float[] labels, int batch, int origH, int origW) throws OrtException {
        int n = labels.length / batch;
        try (OnnxTensor c = OnnxTensor.createTensor(env, FloatBuffer.wrap(coords), new long[] {batch, n, 2});
             OnnxTensor l = OnnxTensor.createTensor(env, FloatBuffer.wrap(labels), new long[] {batch, n});
             OnnxTensor s = OnnxTensor.createTensor(env, FloatBuffer.wrap(new float[] {origH, origW}), new long[] {2});
             OrtSession.Result r = decoder.run(Map.of("image_embeddings", embedding, "point_coords", c, "point_labels", l, "orig_im_size", s))) {
            OnnxTensor masks = (OnnxTensor) r.get(0);
            long[] shape = masks.getInfo().getShape();
            FloatBuffer mb = masks.getFloatBuffer();
            float[] logits = new float[mb.remaining()];
            mb.get(logits);
            FloatBuffer ib = ((OnnxTensor) r.get(1)).getFloatBuffer();
            float[] iou = new float[ib.remaining()];
            ib.get(iou);
            return new Masks(batch, (int) shape[2], (int) shape[3], logits, iou);
        }
    }

    /** Box prompts (x0, y0, x1, y1 each, already in the model input frame) as coordinates and labels 2, 3. */
    public Masks decodeBoxes(OnnxTensor embedding, float[][] boxes, int origH, int origW) throws OrtException {
        float[] coords = new float[boxes.length * 4], labels = new float[boxes.length * 2];
        for (int i = 0; i < boxes.length; i++) {
            System.arraycopy(boxes[i], 0, coords, 4 * i, 4);
            labels[2 * i] = 2f;
            labels[2 * i + 1] = 3f;
        }
        return decode(embedding, coords, labels, boxes.length, origH, origW);
    }

    @Override
    public void close() throws OrtException {
        encoder.close();
        decoder.close();
    }
}
