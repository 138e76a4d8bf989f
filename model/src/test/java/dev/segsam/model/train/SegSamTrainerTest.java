package dev.segsam.model.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The training step end to end on a small SEG-SAM: gradients against finite differences, and the loss going down. */
public class SegSamTrainerTest {
    static final SamConfig SMALL = new SamConfig(128, 16, 64, 4, 4, new int[] {1, 3}, 5, 256, 32, 64, 8, 2, 32, 16, 3);

    /** A 64×64 grey image with a bright square (class 1) and a dark disc (class 2) at positions set by the seed. */
    public static TrainSample sample(long seed) {
        Random r = new Random(seed);
        int w = 64, h = 64, sx = 5 + r.nextInt(20), sy = 5 + r.nextInt(20), cx = 40 + r.nextInt(12), cy = 35 + r.nextInt(15);
        RgbImage img = RgbImage.black(w, h);
        byte[] sq = new byte[w * h], disc = new byte[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = 120 + r.nextInt(10);
                if (x >= sx && x < sx + 16 && y >= sy && y < sy + 16) {
                    v = 220;
                    sq[y * w + x] = 1;
                } else if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < 81) {
                    v = 30;
                    disc[y * w + x] = 1;
                }
                for (int c = 0; c < 3; c++) img.set(x, y, c, v);
            }
        }
        return new TrainSample("s" + seed, img, List.of(new TrainSample.Target(1, "square", sq), new TrainSample.Target(2, "disc", disc)));
    }

    record Setup(SegSamTrainer trainer, Map<String, Tensor> weights, SegSam model) {}

    static Setup setup(SegSamTrainer.Options o, double lr) {
        TensorSource sam = SeededWeights.generate(SMALL, 3);
        List<ClassSpec> classes = List.of(ClassTexts.spec("square", "a bright square"), ClassTexts.spec("disc", "a dark round disc"));
        SegSamInit.Model m = SegSamInit.create(sam, classes, SegSamInit.hashedEmbeddings(classes, 32), "hashed-v1", true, "sam", 5);
        Map<String, Tensor> w = new LinkedHashMap<>();
        m.tensors().forEach((k, v) -> w.put(k, v.copy()));
        SegSam model = SegSam.load(SegSamInitTest_withMeta(w, m.metadata()), new CpuBackend());
        Map<String, Tensor> train = SegSamTrainer.trainableOf(w, o.trainEncoder());
        AdamW opt = AdamW.defaults(train, lr, 5, 200);
        return new Setup(new SegSamTrainer(model, train, opt, o, Preprocessor.Convention.SAM), w, model);
    }

    static TensorSource SegSamInitTest_withMeta(Map<String, Tensor> t, Map<String, String> meta) {
        return TensorSource.of(t, meta);
    }

    /** d(total loss)/dθ for a few parameters of every trained part, against central differences of the same step. */
    @Test
    void stepGradientsMatchFiniteDifferences() {
        Setup s = setup(new SegSamTrainer.Options(2, 20, 1, true, true, true, 1, 1, false), 1e-3);
        TrainSample ts = sample(1);
        Preprocessor.Preprocessed frame = s.trainer().preprocessor().preprocess(ts.image());
        Tensor fv = s.model().sam().encode(frame.input(), null);
        Map<String, float[]> g = new LinkedHashMap<>();
        s.trainer().lossAndGradients(ts, frame, fv, new Random(9), g);
        String[][] probes = {
            {"mask_decoder.output_hypernetworks_mlps.0.layers.2.bias", "1"},
            {"mask_decoder.transformer.layers.1.mlp.lin2.weight", "7"},
            {"prompt_encoder.point_embeddings.1.weight", "4"},
            {"prompt_encoder.point_embeddings.2.weight", "4"},
            {"t2vse.fuse.layers.1.weight", "9"},
            {"t2vse.text_token.weight", "3"},
            {"semantic_decoder.co_tokens.weight", "5"},
            {"semantic_decoder.so_hypernetwork.layers.2.bias", "2"},
            {"semantic_decoder.co_head.layers.1.bias", "0"},
        };
        for (String[] p : probes) {
            Tensor t = s.weights().get(p[0]);
            int i = Integer.parseInt(p[1]);
            float keep = t.get(i);
            double eps = 1e-2;
            t.set(i, (float) (keep + eps));
            double lp = s.trainer().lossAndGradients(ts, frame, fv, new Random(9), new LinkedHashMap<>()).total();
            t.set(i, (float) (keep - eps));
            double lm = s.trainer().lossAndGradients(ts, frame, fv, new Random(9), new LinkedHashMap<>()).total();
            t.set(i, keep);
            double num = (lp - lm) / (2 * eps), ana = g.get(p[0])[i];
            if (Math.abs(ana - num) > 2e-3 + 5e-2 * Math.max(Math.abs(ana), Math.abs(num))) fail(p[0] + "[" + i + "]: analytic " + ana + ", numeric " + num);
        }
    }

    @Test
    void lossDecreasesOnASmallProblem() {
        Setup s = setup(SegSamTrainer.Options.defaults(), 3e-3);
        List<TrainSample> data = new ArrayList<>();
        List<Preprocessor.Preprocessed> frames = new ArrayList<>();
        List<Tensor> fvs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            data.add(sample(100 + i));
            frames.add(s.trainer().preprocessor().preprocess(data.get(i).image()));
            fvs.add(s.model().sam().encode(frames.get(i).input(), null));
        }
        Random rnd = new Random(1);
        double first = 0, last = 0;
        int steps = 60;
        for (int k = 0; k < steps; k++) {
            int i = k % data.size();
            SegSamTrainer.Report r = s.trainer().step(data.get(i), frames.get(i), fvs.get(i), rnd);
            assertTrue(Double.isFinite(r.total()), "step " + k);
            if (k < 12) first += r.total() / 12;
            if (k >= steps - 12) last += r.total() / 12;
        }
        assertTrue(last < 0.7 * first, "loss " + first + " -> " + last);
        assertEquals(60, s.trainer().optimizer().step());
    }
}
