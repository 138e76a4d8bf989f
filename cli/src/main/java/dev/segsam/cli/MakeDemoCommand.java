package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.cli.train.DataSources;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.medical.dataset.Colin27Aal;
import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.dataset.InstanceMask;
import dev.segsam.io.medical.dataset.Sample;
import dev.segsam.io.medical.intensity.CtWindow;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.CpuBackend;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code segsam make-demo} (hidden, for maintainers): packs a trained model and one slice as an embedded demo —
 * the model, {@code sample.png}, {@code prompts.json} (tight boxes of the chosen structures), {@code truth.json} and
 * {@code truth_i.png}. Default: a phantom slice for {@code segsam demo}; with {@code --mri}, a Colin27 T1 slice of the
 * test split (with its AAL masks) for {@code segsam demo --mri}. See docs/TRAINING.md.
 */
@Command(name = "make-demo", hidden = true, mixinStandardHelpOptions = true, description = "Pack a trained model and a slice as an embedded demo.")
final class MakeDemoCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "FILE", required = true, description = "the trained SEG-SAM weights to embed") Path model;
    @Option(names = "--seed", paramLabel = "N", description = "phantom seed of the sample (take one from the test split)") Long seed;
    @Option(names = "--mri", description = "a Colin27 T1 + AAL slice (--slice) for segsam demo --mri") boolean mri;
    @Option(names = "--slice", paramLabel = "Z", description = "--mri: the axial slice (z index; must be in the model's test split)") Integer slice;
    @Option(names = "--data-dir", paramLabel = "DIR", description = "--mri: where mricron-data is (default: $SEGSAM_DATA or ~/.cache/segsam, /mricron-data)") Path dataDir;
    @Option(names = "--classes", paramLabel = "LIST", split = ",", description = "the classes prompted in the demo (default: liver,spleen,kidney_left; --mri: every structure on the slice)") List<String> classes;
    @Option(names = "--out", paramLabel = "DIR", description = "where the demo resources go (default: the cli resources of the demo, demo/ or demo-mri/)") Path out;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        String modelName;
        String classesNote;
        try (Checkpoint f = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam m = SegSam.load(f, new CpuBackend());
            if (!m.hasSemantics()) throw new IllegalArgumentException(model + " has no SEG-SAM parts");
            classesNote = m.config().classNames().size() + (mri ? " brain structures (AAL)" : " phantom organ classes");
            modelName = m.sam().config().name();
        }
        if (out == null) out = Path.of(mri ? "cli/src/main/resources/dev/segsam/cli/demo-mri" : "cli/src/main/resources/dev/segsam/cli/demo");
        Sample s;
        String sampleNote, modelNote;
        if (mri) {
            if (slice == null) throw new IllegalArgumentException("--mri needs --slice Z (an axial slice of the test split)");
            Path dir = dataDir != null ? dataDir : DataSources.defaultDataDir().resolve("mricron-data");
            Colin27Aal.SplitSample pick = null;
            for (Colin27Aal.SplitSample x : Colin27Aal.samples(dir.resolve("ch2.nii.gz"), dir.resolve("aal.nii.gz"), dir.resolve("aal.nii.txt"),
                    Colin27Aal.Options.defaults())) {
                if (x.sliceIndex() == slice) pick = x;
            }
            if (pick == null) throw new IllegalArgumentException("axial slice " + slice + " has no structure of the default set");
            if (!pick.split().equals("test")) throw new IllegalArgumentException("axial slice " + slice + " is in the " + pick.split() + " split, not test");
            s = pick.sample();
            sampleNote = "Colin27 T1 axial slice z=" + slice + " (test split), " + s.image().width() + "x" + s.image().height() + ", MR normalisation";
            modelNote = "segsam-mri (" + modelName + " + SEG-SAM, " + classesNote + ")";
            if (classes == null) classes = s.masks().stream().map(InstanceMask::className).toList();
        } else {
            if (seed == null) throw new IllegalArgumentException("--seed is required (a phantom seed of the test split)");
            s = AbdomenPhantom.generate(seed, 256).toSample(CtWindow.ABDOMEN);
            sampleNote = "256x256 CT phantom slice (abdomen window), AbdomenPhantom seed " + seed;
            modelNote = "segsam-demo (" + modelName + " + SEG-SAM, " + classesNote + ")";
            if (classes == null) classes = List.of("liver", "spleen", "kidney_left");
        }
        Files.createDirectories(out);
        ImageFiles.writePng(s.image(), out.resolve("sample.png"));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ArrayNode prompts = json.createArrayNode();
        ObjectNode truth = json.createObjectNode();
        truth.put("model", modelNote);
        truth.put("sample", sampleNote);
        ArrayNode targets = truth.putArray("targets");
        int i = 0;
        for (String c : classes) {
            InstanceMask mk = s.masks().stream().filter(x -> x.className().equals(c)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("the sample has no " + c));
            int[] bb = mk.bbox();
            prompts.addObject().putArray("box").add(bb[0]).add(bb[1]).add(bb[2] + 1).add(bb[3] + 1);
            targets.addObject().put("class", c).put("truth_file", "truth_" + i + ".png");
            ImageFiles.writeGreyPng(mk.mask(), mk.width(), mk.height(), out.resolve("truth_" + i + ".png"));
            i++;
        }
        json.writeValue(out.resolve("prompts.json").toFile(), prompts);
        json.writeValue(out.resolve("truth.json").toFile(), truth);
        String file = mri ? "segsam-mri.safetensors" : "segsam-demo.safetensors";
        Files.copy(model, out.resolve(file), StandardCopyOption.REPLACE_EXISTING);
        o.println("wrote the demo into " + out + " (" + Files.size(out.resolve(file)) / 1024 + " KiB model, " + classes.size() + " prompts)");
        return 0;
    }
}
