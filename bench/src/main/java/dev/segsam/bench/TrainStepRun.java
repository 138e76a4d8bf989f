package dev.segsam.bench;

import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.model.train.AdamW;
import dev.segsam.model.train.SegSamTrainer;
import dev.segsam.model.train.TrainSample;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.Tensor;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One SEG-SAM training step on a cached embedding at SAM ViT-B decoder sizes (C = 256, 64×64 f_v, 1024² frame, 256²
 * low-res targets), K classes, 5 prompted targets, all four losses: {@link SegSamTrainer#lossAndGradients} (the
 * decoder pair and T2VSE on the autodiff tape, no optimiser update). The image encoder is never run (f_v is random), so
 * its size is set tiny. The peer is {@code tools/reference/train_step_torch.py} (same sizes, same timing).
 *
 * <pre>
 * java -cp bench/target/segsam-bench.jar dev.segsam.bench.TrainStepRun [steps] [warmup] [classes]
 * </pre>
 * Prints the median wall and process-CPU milliseconds per step. Options from {@code -Dsegsam.*} (cpu, threads);
 * {@code -Dsegsam.device=cuda} runs the step on the CUDA backend (weights uploaded once; a step then ends with the
 * download of every trainable tensor's gradient, ~4.2 M floats, which also waits for the GPU) — the peer is
 * {@code train_step_torch.py --device cuda} on the same card. Without it the step runs on the CPU even on a GPU host.
 */
public final class TrainStepRun {
    private TrainStepRun() {}

    /** ViT-B's prompt encoder, mask decoder and 64×64 grid, with a one-block 64-wide image encoder (never run). */
    static final SamConfig DECODER_VIT_B = new SamConfig(1024, 16, 64, 1, 4, new int[] {0}, 14, 256, 256, 2048, 8, 2, 256, 16, 3);

    /** The step's state: trainer, cached embedding, preprocessed frame, the sample. */
    public record Fixture(SegSamTrainer trainer, Tensor fv, Preprocessor.Preprocessed frame, TrainSample sample) {
        public double step(long seed) {
            Map<String, float[]> g = new LinkedHashMap<>();
            return trainer.lossAndGradients(sample, frame, fv, new Random(seed), g).total();
        }
    }

    public static Fixture fixture(Options options, int classes, int targets) {
        return fixture(Backends.cpu(options), classes, targets);
    }

    /** The fixture on a given CPU backend (e.g. one wrapped by {@link OpProfiler}). */
    public static Fixture fixture(Backend cpu, int classes, int targets) {
        TensorSource sam = SeededWeights.generate(DECODER_VIT_B, 20261205L);
        List<ClassSpec> specs = new ArrayList<>();
        for (int k = 1; k <= classes; k++) specs.add(ClassTexts.spec("class" + k, "structure number " + k + " of the atlas"));
        SegSamInit.Model m = SegSamInit.create(sam, specs, SegSamInit.hashedEmbeddings(specs, 256), "hashed-v1", true, "sam", 5);
        Map<String, Tensor> w = new LinkedHashMap<>();
        m.tensors().forEach((k, v) -> w.put(k, cpu.device() == dev.segsam.tensor.Device.CPU ? v.copy() : cpu.upload(v)));
        SegSam model = SegSam.load(TensorSource.of(w, m.metadata()), cpu);
        Map<String, Tensor> train = SegSamTrainer.trainableOf(w, false);
        SegSamTrainer.Options o = new SegSamTrainer.Options(targets, 20, 1, true, true, true, 1, 1, false);
        SegSamTrainer trainer = new SegSamTrainer(model, train, AdamW.defaults(cpu, train, 1e-4, 5, 200), o, Preprocessor.Convention.SAM);
        int side = 1024;
        RgbImage img = RgbImage.black(side, side);
        Random r = new Random(1);
        List<TrainSample.Target> ts = new ArrayList<>();
        for (int i = 0; i < targets; i++) {
            byte[] mask = new byte[side * side];
            int x0 = r.nextInt(600), y0 = r.nextInt(600);
            for (int y = y0; y < y0 + 250; y++) Arrays.fill(mask, y * side + x0, y * side + x0 + 300, (byte) 1);
            ts.add(new TrainSample.Target(1 + i % classes, "class" + (1 + i % classes), mask));
        }
        TrainSample sample = new TrainSample("bench", img, ts);
        Preprocessor.Preprocessed frame = trainer.preprocessor().preprocess(img);
        float[] f = new float[256 * 64 * 64];
        for (int i = 0; i < f.length; i++) f[i] = (float) r.nextGaussian();
        Tensor fv = cpu.upload(Tensor.of(f, 1, 256, 64, 64));
        return new Fixture(trainer, fv, frame, sample);
    }

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int classes = args.length > 2 ? Integer.parseInt(args[2]) : 12;
        Options options = Options.fromSystemProperties();
        // -Dsegsam.bench.profile=true: per-op times of the timed steps (OpProfiler; -Dsegsam.profile.cpu for thread CPU)
        OpProfiler prof = Boolean.getBoolean("segsam.bench.profile") ? new OpProfiler() : null;
        Backend cpu = options.device() == dev.segsam.tensor.Device.CUDA ? Backends.select(options) : Backends.cpu(options);
        Fixture fx = fixture(prof == null ? cpu : prof.wrap(cpu), classes, 5);
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        double[] wall = new double[steps], cpuMs = new double[steps];
        double loss = 0;
        for (int i = 0; i < warmup + steps; i++) {
            long t0 = System.nanoTime(), c0 = os.getProcessCpuTime();
            loss = fx.step(i);
            long t1 = System.nanoTime(), c1 = os.getProcessCpuTime();
            if (prof != null && i == warmup - 1) prof.reset();
            if (i >= warmup) {
                wall[i - warmup] = (t1 - t0) / 1e6;
                cpuMs[i - warmup] = (c1 - c0) / 1e6;
            }
        }
        if (prof != null) System.out.print(prof.table(steps));
        System.out.printf(java.util.Locale.ROOT, "segsam %s K=%d targets=5 loss=%.4f wall_ms_median=%.1f cpu_ms_median=%.1f wall_ms=%s%n",
                cpu.device() == dev.segsam.tensor.Device.CPU ? options.cpu() : cpu.name(), classes, loss, median(wall), median(cpuMs), Arrays.toString(Arrays.stream(wall).map(x -> Math.round(x * 10) / 10.0).toArray()));
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
