package dev.segsam.cli.medical;

import dev.segsam.cli.OutputFolder;
import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.dataset.Colin27Aal;
import dev.segsam.io.medical.dataset.DatasetWriter;
import dev.segsam.io.medical.dataset.SegmentationDataset;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Builds 2-D segmentation data sets (PNG images + instance mask PNGs + index.json). */
@Command(name = "dataset", mixinStandardHelpOptions = true,
        description = "Build a 2-D data set folder (images/, masks/, index.json); see docs/DATA.md.",
        subcommands = {DatasetCommand.Colin27.class, DatasetCommand.Phantom.class})
public final class DatasetCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new CommandLine.ParameterException(spec.commandLine(), "choose a data set: colin27 or phantom");
    }

    /** The options every data set command shares: where to write, and whether a non-empty folder may be used. */
    static final class Output {
        @Option(names = "--out", paramLabel = "DIR", required = true, description = "output folder (absent or empty unless --force)")
        Path out;

        @Option(names = "--force", description = "replace a non-empty --out (as a whole, once the new data set is complete)")
        boolean force;

        @Spec(Spec.Target.MIXEE)
        CommandSpec spec;

        void report(Map<String, Integer> counts) {
            PrintWriter w = spec.commandLine().getOut();
            w.printf("wrote %s: train %d, val %d, test %d samples (index.json, images/, masks/)%n", out,
                    counts.getOrDefault("train", 0), counts.getOrDefault("val", 0), counts.getOrDefault("test", 0));
        }

        CommandLine.ParameterException usage(String message) {
            return new CommandLine.ParameterException(spec.commandLine(), message);
        }
    }

    @Command(name = "colin27", mixinStandardHelpOptions = true,
            description = {"Colin27 T1 MRI + AAL atlas slices with per-structure masks (real data: scripts/fetch-data.sh mricron).",
                    "Default structures (L/R): hippocampus, caudate, putamen, thalamus, cerebellum crus 1, supplementary motor area,",
                    "precuneus, cerebellum 8."})
    static final class Colin27 implements Callable<Integer> {
        @Mixin
        Output output;

        @Option(names = "--axis", paramLabel = "x|y|z", defaultValue = "z", converter = ExportSliceCommand.AxisConverter.class, description = "slice axis x, y or z (default z: axial)")
        Axis axis;

        @Option(names = "--classes", paramLabel = "LIST", split = ",", description = "AAL structures by index or name, e.g. 77,78 or Thalamus_L,Thalamus_R (default: 37,38,71,72,73,74,77,78,91,92,19,20,67,68,103,104)")
        List<String> classes;

        @Option(names = {"--data-dir", "--data"}, paramLabel = "DIR", description = "folder with ch2.nii.gz, aal.nii.gz, aal.nii.txt (default: $SEGSAM_DATA or ~/.cache/segsam, then mricron-data/)")
        Path data;

        @Option(names = "--min-pixels", paramLabel = "N", defaultValue = "60", description = "smallest structure cross-section kept as a mask (default ${DEFAULT-VALUE})")
        int minPixels;

        @Option(names = "--block", paramLabel = "N", defaultValue = "0", description = "split block size in slices; 0 = automatic, round(span/21) in 2..10 (default)")
        int block;

        @Option(names = "--gap", paramLabel = "N", defaultValue = "1", description = "slices dropped where the split changes (default 1)")
        int gap;

        @Override
        public Integer call() throws Exception {
            dev.segsam.cli.Ranges.check(output.spec, "--min-pixels", minPixels, 0, Integer.MAX_VALUE);
            dev.segsam.cli.Ranges.check(output.spec, "--block", block, 0, 1000);
            dev.segsam.cli.Ranges.check(output.spec, "--gap", gap, 0, 1000);
            Path dir = data != null ? data : defaultData();
            Path ch2 = dir.resolve("ch2.nii.gz"), aal = dir.resolve("aal.nii.gz"), txt = dir.resolve("aal.nii.txt");
            for (Path p : new Path[] {ch2, aal, txt}) {
                if (!Files.isRegularFile(p)) {
                    throw new IllegalArgumentException(p.getFileName() + " not found in " + dir
                            + "; run scripts/fetch-data.sh mricron (Debian package mricron-data) or pass --data DIR");
                }
            }
            int[] ids = classes == null ? Colin27Aal.DEFAULT_CLASSES : Colin27Aal.resolveClasses(classes, Colin27Aal.readLabelNames(txt));
            Colin27Aal.Options o = new Colin27Aal.Options(axis, ids, minPixels, block, gap);
            try (OutputFolder folder = OutputFolder.prepare(output.out, output.force, "use --force to replace it", ch2, aal, txt)) {
                Map<String, Integer> counts = Colin27Aal.write(ch2, aal, txt, o, folder.dir(), true);
                folder.commit();
                output.report(counts);
            }
            return 0;
        }

        static Path defaultData() {
            String env = System.getenv("SEGSAM_DATA");
            Path base = env != null && !env.isBlank() ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "segsam");
            return base.resolve("mricron-data");
        }
    }

    @Command(name = "phantom", mixinStandardHelpOptions = true,
            description = "Synthetic abdominal CT slices (abdomen window W400/L40) with liver, spleen, kidneys, stomach, aorta and vertebra masks.")
    static final class Phantom implements Callable<Integer> {
        @Mixin
        Output output;

        @Option(names = "--count", paramLabel = "N", defaultValue = "20", description = "number of slices (default 20)")
        int count;

        @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "seed of the first slice; slice i uses seed + i (default 0)")
        long seed;

        @Option(names = "--size", paramLabel = "N", defaultValue = "256", description = "image side in pixels, 64..4096 (default 256)")
        int size;

        @Override
        public Integer call() throws Exception {
            if (count < 1 || count > 100_000) throw output.usage("--count must be in 1..100000, got " + count);
            if (size < 64 || size > 4096) throw output.usage("--size must be 64..4096");
            SegmentationDataset ds = AbdomenPhantom.dataset(seed, count, size);
            try (OutputFolder folder = OutputFolder.prepare(output.out, output.force, "use --force to replace it")) {
                DatasetWriter w = new DatasetWriter(folder.dir(), "abdomen-phantom", ds.classes(), true)
                        .info("source", "segsam AbdomenPhantom (synthetic), seeds " + seed + ".." + (seed + count - 1))
                        .info("window", "abdomen W400/L40 -> [-160, 240] HU")
                        .info("split_rule", "sample i: i % 10 < 8 train, 8 val, 9 test");
                for (int i = 0; i < count; i++) w.add(ds.get(i), i % 10 < 8 ? "train" : i % 10 == 8 ? "val" : "test");
                Map<String, Integer> counts = w.finish();
                folder.commit();
                output.report(counts);
            }
            return 0;
        }
    }
}
