package dev.segsam.cli;

import dev.segsam.io.IoLimits;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.segsam.io.Checkpoint;
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
 * {@code segsam make-demo} (hidden, for maintainers): packs a trained model and one phantom slice as the embedded
 * demo — {@code segsam-demo.safetensors}, {@code sample.png}, {@code prompts.json} (tight boxes of the chosen organs),
 * {@code truth.json} and {@code truth_i.png}. See docs/TRAINING.md.
 */
@Command(name = "make-demo", hidden = true, mixinStandardHelpOptions = true, description = "Pack a trained model and a phantom slice as the embedded demo.")
final class MakeDemoCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "FILE", required = true, description = "the trained SEG-SAM weights to embed") Path model;
    @Option(names = "--seed", paramLabel = "N", required = true, description = "phantom seed of the sample (take one from the test split)") long seed;
    @Option(names = "--classes", paramLabel = "LIST", defaultValue = "liver,spleen,kidney_left", split = ",", description = "the classes prompted in the demo (default ${DEFAULT-VALUE})") List<String> classes;
    @Option(names = "--out", paramLabel = "DIR", defaultValue = "cli/src/main/resources/dev/segsam/cli/demo", description = "where the demo resources go (default ${DEFAULT-VALUE})") Path out;
    @Spec CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter o = spec.commandLine().getOut();
        try (Checkpoint f = Checkpoint.open(model, IoLimits.fromSystemProperties())) {
            SegSam m = SegSam.load(f, new CpuBackend());
            if (!m.hasSemantics()) throw new IllegalArgumentException(model + " has no SEG-SAM parts");
        }
        Files.createDirectories(out);
        Sample s = AbdomenPhantom.generate(seed, 256).toSample(CtWindow.ABDOMEN);
        ImageFiles.writePng(s.image(), out.resolve("sample.png"));
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ArrayNode prompts = json.createArrayNode();
        ObjectNode truth = json.createObjectNode();
        truth.put("model", "segsam-demo (small256 + SEG-SAM, 7 phantom organ classes)");
        truth.put("sample", "AbdomenPhantom seed " + seed + ", 256x256, abdomen window W400/L40");
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
        Files.copy(model, out.resolve("segsam-demo.safetensors"), StandardCopyOption.REPLACE_EXISTING);
        o.println("wrote the demo into " + out + " (" + Files.size(out.resolve("segsam-demo.safetensors")) / 1024 + " KiB model)");
        return 0;
    }
}
