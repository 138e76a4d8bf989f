package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import dev.segsam.cli.predict.BatchPredict;
import dev.segsam.cli.predict.Conventions;
import dev.segsam.cli.predict.InputImage;
import dev.segsam.cli.predict.OutputWarmup;
import dev.segsam.cli.predict.PredictionOutput;
import dev.segsam.cli.predict.ProcessCpu;
import dev.segsam.cli.predict.Progress;
import dev.segsam.io.Checkpoint;
import dev.segsam.cli.predict.PromptParser;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.intensity.Windowing;
import dev.segsam.model.DecoderWarmup;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor.Convention;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.Backend;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Device;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.image.RgbImage;
import java.util.Locale;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam predict}: SAM or SEG-SAM on one image with one or more prompts. Writes binary masks, an overlay,
 * {@code result.json} and {@code outputs.safetensors} (and, for SEG-SAM models, semantic label maps) into a folder.
 */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Segment an image with box and/or point prompts using SAM, MedSAM or SEG-SAM weights.",
            "Coordinates are original image pixels; a point label is 1 (foreground) or 0 (background)."})
final class PredictCommand implements Callable<Integer> {
    /**
     * The encoder blocks done before the warm-up starts (lab knobs: -Dsegsam.warmup.decodes, -Dsegsam.warmup.after):
     * 0, with the encode. Starting after 2 blocks cost ~4.5 s more encode CPU (docs/PERF.md, "cold start").
     */
    static final int WARMUP_AFTER_BLOCKS = 0;

    @Option(names = "--model", required = true, paramLabel = "FILE", description = "weights: .safetensors or .pth (SAM names)")
    Path model;

    @Option(names = "--image", paramLabel = "IMG",
            description = "PNG, JPEG or TIFF (8/16-bit, grey or RGB), or a NIfTI file, DICOM file or DICOM series folder (one slice, see --axis/--index)")
    Path image;

    @Option(names = "--axis", paramLabel = "x|y|z", description = "for volumes: the voxel axis to slice along (default z)")
    String axis;

    @Option(names = "--index", paramLabel = "N", description = "for volumes: the slice index (default: the middle slice)")
    Integer index;

    @Option(names = "--window", paramLabel = "PRESET|W,L", defaultValue = "auto",
            description = "for volumes: abdomen|brain|bone|lung|mediastinum, W,L in HU, mr, dicom or auto (default)")
    String window;

    @Option(names = "--box", paramLabel = "x0,y0,x1,y1", description = "a box prompt (repeat for several prompts, one box each)")
    List<String> boxes = new ArrayList<>();

    @Option(names = "--point", paramLabel = "x,y,label", description = "a point prompt (repeatable)")
    List<String> points = new ArrayList<>();

    @Option(names = "--multimask", description = "return SAM's three masks per prompt (default: one)")
    boolean multimask;

    @Option(names = "--prompts", paramLabel = "prompts.json",
            description = "a JSON array of {\"box\":[x0,y0,x1,y1], \"points\":[[x,y,label],...], \"multimask\":bool}")
    Path promptsFile;

    @Option(names = "--convention", paramLabel = "sam|medsam",
            description = "preprocessing: sam (resize longest side, mean/std, pad) or medsam (resize to a square, [0,1]); default: the model's, else sam")
    String convention;

    @Option(names = "--full-res-logits",
            description = "also store the full-size logits (mask_logits.i, semantic_logits.i: 4 bytes x masks x image pixels each) in outputs.safetensors; default: the low-res logits only")
    boolean fullResLogits;

    @Mixin
    ComputeOptions compute;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "output folder (created; must be empty unless --force)")
    Path out;

    @Option(names = "--force", description = "replace a non-empty output folder (as a whole, once the new output is complete)")
    boolean force;

    @Option(names = "--decoder-warmup", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "while the image is encoded, warm up the decoder on a synthetic embedding so the first prompt runs compiled code (default: on; --no-decoder-warmup turns it off; results are the same either way)")
    boolean decoderWarmup;

    @Option(names = "--quiet", description = "no progress bar")
    boolean quiet;

    @Option(names = "--batch", paramLabel = "DIR|FILE",
            description = "instead of --image: every image/NIfTI/DICOM in a folder, or a manifest (.csv or .jsonl: image, id, slice, axis, window, prompts, truth); one sub-folder per item, summary.csv/json, resumable; exit code 3 when some items failed")
    Path batch;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        if (batch != null) { // cli/predict/BatchPredict
            if (image != null) throw new CommandLine.ParameterException(spec.commandLine(), "give --image or --batch, not both");
            List<Prompt> common = boxes.isEmpty() && points.isEmpty() && promptsFile == null ? null : prompts();
            Options options = compute.options();
            if (!BatchPredict.isBatchFolder(out)) OutputFolder.requireUsable(out, force, "use --force to write into it, or the --out of an earlier batch to resume it");
            return BatchPredict.command(batch, model, convention, options, common, axis, index, window, out, quiet, o, err);
        }
        if (image == null) throw new CommandLine.ParameterException(spec.commandLine(), "Missing required option: '--image=IMG' (or --batch)");
        // cheap checks first: nothing is loaded or written before the arguments are known to be usable
        List<Prompt> prompts = prompts();
        Options options = compute.options();
        try (OutputFolder folder = OutputFolder.prepare(out, force, "use --force to replace it", model, image, promptsFile)) {
            run(folder, prompts, options, o, err);
        }
        return 0;
    }

    private void run(OutputFolder folder, List<Prompt> prompts, Options options, PrintWriter o, PrintWriter err) throws Exception {
        InputImage input = InputImage.load(image, axis == null ? null : Axis.parse(axis), index, Windowing.parse(window));
        RgbImage img = input.image();
        for (int i = 0; i < prompts.size(); i++) PromptParser.requireInside(prompts.get(i), img.width(), img.height(), "prompt " + i);

        boolean timing = Boolean.getBoolean("segsam.timing");
        long t0 = System.nanoTime(), upAtLoad = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime(), c0 = ProcessCpu.nanos();
        Backend backend = Backends.select(options);
        try (Checkpoint weights = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam segsam = SegSam.load(weights, backend);
            Convention conv = Conventions.choose(convention, segsam);
            Predictor predictor = new Predictor(segsam, conv, options);
            if (!quiet) {
                err.println("segsam: " + segsam.sam().config().name() + (segsam.hasSemantics() ? " + SEG-SAM (" + segsam.config().numClasses() + " classes)" : "")
                        + " on " + backend.name() + (backend.device() == Device.CPU ? " (" + backend.parallel() + ")" : "") + ", " + input.description()
                        + ", " + prompts.size() + " prompt(s)");
            }
            Progress bar = new Progress(err, "encoding", predictor.encoderBlocks(), !quiet);
            bar.update(0, "blocks");
            long t1 = System.nanoTime(), c1 = ProcessCpu.nanos();
            // docs/PERF.md "cold start": the decode path is compiled while the encode runs (model/DecoderWarmup)
            DecoderWarmup warmup = decoderWarmup ? DecoderWarmup.create(predictor, img.height(), img.width(), prompts.get(0),
                    Integer.getInteger("segsam.warmup.decodes", DecoderWarmup.DEFAULT_DECODES)) : null;
            if (warmup != null && !Boolean.getBoolean("segsam.warmup.nooutput")) { // and the per-prompt output work (cold start II)
                PrintWriter none = new PrintWriter(java.io.Writer.nullWriter());
                warmup.then(OutputWarmup.of(prompts.get(0), img.width(), img.height()).andThen(r -> new NanCheck(none).check(r, 0)));
            }
            StringBuilder blockCpuMs = new StringBuilder(); // -Dsegsam.timing: process CPU per encoder block (its warm-up)
            long[] lastCpu = {c1, timing ? ProcessCpu.jitNanos() : 0};
            IntConsumer blocks = i -> {
                bar.update(i + 1, "blocks");
                if (timing) {
                    long c = ProcessCpu.nanos(), jit = ProcessCpu.jitNanos();
                    blockCpuMs.append(blockCpuMs.isEmpty() ? "" : ", ").append((c - lastCpu[0]) / 1_000_000)
                            .append('/').append((jit - lastCpu[1]) / 1_000_000);
                    lastCpu[0] = c;
                    lastCpu[1] = jit;
                }
            };
            try (warmup; Predictor.Encoded enc = predictor.encode(img, warmup == null ? blocks
                    : warmup.startAfter(Integer.getInteger("segsam.warmup.after", WARMUP_AFTER_BLOCKS), blocks))) {
                if (warmup != null) warmup.stop();
                long t2 = System.nanoTime(), c2 = ProcessCpu.nanos(), jit2 = timing ? ProcessCpu.jitNanos() : -1;
                // one prompt at a time, each result written as it comes and then dropped: memory does not grow with the
                // number of prompts (docs/LIMITS.md)
                StringBuilder decodeMs = new StringBuilder(), decodeCpuMs = new StringBuilder(), decodeJitMs = new StringBuilder();
                long decodeNs = 0;
                Progress pbar = new Progress(err, "prompts", prompts.size(), !quiet && prompts.size() > 1);
                List<String> summary;
                NanCheck nan = new NanCheck(err);
                try (PredictionOutput.Writer output = new PredictionOutput.Writer(folder.dir(), model, image, segsam, conv, img, enc, fullResLogits, input, null, null)) {
                    for (int i = 0; i < prompts.size(); i++) {
                        long j0 = timing && i < 20 ? ProcessCpu.jitNanos() : 0, d0 = System.nanoTime(), k0 = ProcessCpu.nanos();
                        Predictor.Result r = predictor.predict(enc, prompts.get(i));
                        long d = System.nanoTime() - d0, k = ProcessCpu.nanos() - k0;
                        if (timing && i < 20) decodeJitMs.append(decodeJitMs.isEmpty() ? "" : ", ").append((ProcessCpu.jitNanos() - j0) / 1_000_000);
                        decodeNs += d;
                        if (i < 20) {
                            decodeMs.append(decodeMs.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", d / 1e6));
                            decodeCpuMs.append(decodeCpuMs.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", k / 1e6));
                        }
                        try {
                            nan.check(r, i);
                            output.add(prompts.get(i), r);
                        } finally {
                            close(r);
                        }
                        pbar.update(i + 1, "prompts");
                    }
                    output.finish();
                    summary = output.summary();
                    nan.summary();
                }
                folder.commit();
                long t3 = System.nanoTime(), c3 = ProcessCpu.nanos();
                for (String line : summary) o.println(line);
                o.println("wrote " + out);
                if (timing) { // docs/PERF.md: cold start, stage by stage
                    if (prompts.size() > 20) decodeMs.append(", ... (").append(prompts.size()).append(" prompts)");
                    err.printf(Locale.ROOT, "segsam: timing: JVM start to load %d ms, load %.0f ms, encode %.0f ms, decode ms [%s], decode and write %.0f ms (decode %.0f), decoder warm-up %s%n",
                            upAtLoad, (t1 - t0) / 1e6, (t2 - t1) / 1e6, decodeMs, (t3 - t2) / 1e6, decodeNs / 1e6,
                            warmup == null ? "off" : warmup.decodesDone() + " decodes during the encode [" + warmup.times() + "]"
                                    + (warmup.failure() == null ? "" : " (failed: " + warmup.failure() + ")"));
                    err.printf(Locale.ROOT, "segsam: timing: process CPU ms: JVM start to load %.0f, load %.0f, encode %.0f, decode and write %.0f, decodes [%s]%s%n",
                            c0 / 1e6, (c1 - c0) / 1e6, (c2 - c1) / 1e6, (c3 - c2) / 1e6, decodeCpuMs, ProcessCpu.jitSuffix()
                            + (jit2 < 0 ? "" : String.format(Locale.ROOT, " (%d by the end of the encode)", jit2 / 1_000_000))
                            + ", encoder blocks CPU/JIT [" + blockCpuMs + "] (the first with the patch embedding), JIT during the decodes [" + decodeJitMs + "]");
                }
            }
        }
    }

    /** Frees a result's host tensors now rather than when the garbage collector gets to them. */
    private static void close(Predictor.Result r) {
        r.lowRes().close();
        r.maskLogits().close();
        if (r.semantic() != null) r.semantic().logits().close();
    }

    private List<Prompt> prompts() throws IOException {
        if (promptsFile != null) {
            if (!boxes.isEmpty() || !points.isEmpty()) throw new PromptParser.BadPromptException("use either --prompts or --box/--point, not both");
            return PromptParser.readJson(promptsFile);
        }
        if (boxes.isEmpty() && points.isEmpty()) throw new PromptParser.BadPromptException("no prompt: give --box, --point or --prompts");
        return PromptParser.fromFlagLists(boxes, points, multimask);
    }
}
