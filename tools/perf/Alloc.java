// One thread (-Dsegsam.threads=1): thread CPU and heap bytes allocated per SAM ViT-B encode and decode (seeded weights, SamBench image and box).
// Run: java -XX:+UseSerialGC -Xmx1g -Dsegsam.threads=1 --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar tools/perf/Alloc.java 3 20
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.image.RgbImage;
import java.util.Arrays;
import java.util.Locale;

/** Per-call thread CPU and heap allocation of the calling thread (run with -Dsegsam.threads=1): encodes, then decodes. */
public class Alloc {
    public static void main(String[] a) {
        int encodes = Integer.parseInt(a[0]), decodes = Integer.parseInt(a[1]);
        Options o = Options.fromSystemProperties();
        SegSam model = SegSam.load(SeededWeights.generate(SamConfig.vitB(), 20261126L), Backends.cpu(o));
        Predictor p = new Predictor(model, Preprocessor.Convention.SAM, o);
        RgbImage image = RgbImage.black(600, 450);
        for (int y = 0; y < 450; y++) for (int x = 0; x < 600; x++) for (int c = 0; c < 3; c++) image.set(x, y, c, (x * 7 + y * 3 + c * 50) % 256);
        Prompt box = Prompt.box(150, 100, 420, 330);
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        Predictor.Encoded enc = null;
        double[] ec = new double[encodes], ea = new double[encodes];
        for (int i = 0; i < encodes; i++) {
            if (enc != null) enc.close();
            long c0 = mx.getCurrentThreadCpuTime(), a0 = mx.getCurrentThreadAllocatedBytes();
            enc = p.encode(image, null);
            ec[i] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
            ea[i] = (mx.getCurrentThreadAllocatedBytes() - a0) / 1048576.0;
        }
        double[] dc = new double[decodes], da = new double[decodes];
        for (int i = 0; i < decodes; i++) {
            long c0 = mx.getCurrentThreadCpuTime(), a0 = mx.getCurrentThreadAllocatedBytes();
            p.predict(enc, box).mask();
            dc[i] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
            da[i] = (mx.getCurrentThreadAllocatedBytes() - a0) / 1048576.0;
        }
        System.out.printf(Locale.ROOT, "encode thread CPU ms %s%nencode allocated MB %s%n", fmt(ec), fmt(ea));
        int h = decodes / 2;
        System.out.printf(Locale.ROOT, "decode (last %d) thread CPU ms: median %.1f; allocated MB: median %.2f%n", decodes - h,
                med(Arrays.copyOfRange(dc, h, decodes)), med(Arrays.copyOfRange(da, h, decodes)));
    }
    static String fmt(double[] v) { StringBuilder sb = new StringBuilder(); for (double x : v) sb.append(String.format(Locale.ROOT, "%.0f ", x)); return sb.toString(); }
    static double med(double[] v) { double[] s = v.clone(); Arrays.sort(s); return s[s.length / 2]; }
}
