// What a tight box alone gives on colin27 (no model), and optionally what a model gives with the same boxes, raw and
// with its mask clipped to the box — docs/TRAINING.md "What holds the binary DSC down".
// Run: java --add-modules jdk.incubator.vector -cp cli/target/segsam.jar tools/eval/BoxBaseline.java [model.safetensors]
import dev.segsam.cli.train.DataOptions;
import dev.segsam.cli.train.DataSources;
import dev.segsam.io.Checkpoint;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import java.io.PrintWriter;
import java.nio.file.Path;

public class BoxBaseline {
    public static void main(String[] a) throws Exception {
        DataOptions o = new DataOptions(); // the defaults of `segsam train --data colin27`
        o.data = "colin27";
        o.axis = "auto";
        o.window = "auto";
        o.minPixels = 20;
        o.sliceStep = 1;
        o.valFraction = 0.1;
        o.testFraction = 0.1;
        o.phantoms = 240;
        DataSources d = DataSources.load(o, null, null, new PrintWriter(System.err, true));
        Predictor p = null;
        Checkpoint ck = a.length > 0 ? Checkpoint.open(Path.of(a[0])) : null;
        if (ck != null) p = new Predictor(SegSam.load(ck, Backends.cpu(Options.fromSystemProperties())), Preprocessor.Convention.SAM);
        for (String split : new String[] {"val", "test", "train"}) {
            if (p != null && split.equals("train")) continue;
            double boxFill = 0, ellipse = 0, raw = 0, clipped = 0, areaRatio = 0;
            int n = 0;
            for (TrainSample s : d.split(split)) {
                int w = s.image().width(), h = s.image().height();
                try (Predictor.Encoded e = p == null ? null : p.encode(s.image(), null)) {
                    for (TrainSample.Target t : s.targets()) {
                        byte[] m = t.mask();
                        int x0 = w, y0 = h, x1 = -1, y1 = -1, area = 0;
                        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                            if (m[y * w + x] == 0) continue;
                            x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); area++;
                        }
                        // the box filled, and the ellipse inscribed in it
                        double cx = (x0 + x1) / 2.0, cy = (y0 + y1) / 2.0, rx = (x1 - x0 + 1) / 2.0, ry = (y1 - y0 + 1) / 2.0;
                        int boxArea = (x1 - x0 + 1) * (y1 - y0 + 1), ellArea = 0, ellIn = 0;
                        for (int y = y0; y <= y1; y++) for (int x = x0; x <= x1; x++) {
                            double u = (x - cx) / rx, v = (y - cy) / ry;
                            if (u * u + v * v <= 1) { ellArea++; if (m[y * w + x] != 0) ellIn++; }
                        }
                        boxFill += 2.0 * area / (area + boxArea);
                        ellipse += 2.0 * ellIn / (area + ellArea);
                        if (e != null) { // the model with the tight box, as `segsam eval` prompts it
                            boolean[] pred = p.predict(e, Prompt.box(x0, y0, x1 + 1, y1 + 1)).mask();
                            int pa = 0, in = 0, pc = 0, ic = 0;
                            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
                                if (!pred[y * w + x]) continue;
                                boolean truth = m[y * w + x] != 0, inBox = x >= x0 && x <= x1 && y >= y0 && y <= y1;
                                pa++; if (truth) in++;
                                if (inBox) { pc++; if (truth) ic++; }
                            }
                            raw += 2.0 * in / (area + pa);
                            clipped += 2.0 * ic / (area + pc);
                            areaRatio += pa / (double) area;
                        }
                        n++;
                    }
                }
            }
            System.out.printf(java.util.Locale.ROOT, "%s: %d targets; box filled DSC %.3f, inscribed ellipse %.3f", split, n, boxFill / n, ellipse / n);
            if (p != null) System.out.printf(java.util.Locale.ROOT, "; model %.3f, clipped to the box %.3f, predicted/true area %.2f", raw / n, clipped / n, areaRatio / n);
            System.out.println();
        }
        if (ck != null) ck.close();
    }
}
