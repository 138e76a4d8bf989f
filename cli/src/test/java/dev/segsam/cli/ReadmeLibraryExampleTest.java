package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.io.Checkpoint;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.Predictor;
import dev.segsam.model.Prompt;
import dev.segsam.model.preprocess.Preprocessor;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.ClassSpec;
import dev.segsam.model.segsam.ClassTexts;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.model.segsam.SegSamInit;
import dev.segsam.tensor.Backends;
import dev.segsam.tensor.Options;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's library example, statement for statement (paths aside), on a plain SAM file and a SEG-SAM file: it runs
 * on both (plain SAM has no semantic outputs and the example checks for them).
 */
class ReadmeLibraryExampleTest {
    @Test
    void readmeShowsThisCode() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (String line : new String[] {"try (Checkpoint weights = Checkpoint.open(Path.of(\"segsam.safetensors\"))) {",
            "SegSam model = SegSam.load(weights, Backends.select(options));",
            "Predictor predictor = new Predictor(model, Preprocessor.Convention.SAM, options);",
            "try (Predictor.Encoded image = predictor.encode(ImageFiles.read(Path.of(\"ct.png\")).image())) {",
            "Predictor.Result r = predictor.predict(image, Prompt.box(40, 30, 200, 180));", "if (r.hasSemantics()) {",
            "int[] labels = r.semantic().labelMap();", "float[] presence = r.semantic().classPresence();"}) {
            assertTrue(readme.contains(line), "README library example lost: " + line);
        }
        // the imports it lists are real classes, and the artifacts it names are this build's modules
        String section = readme.substring(readme.indexOf("## As a library"), readme.indexOf("## Modules"));
        java.util.regex.Matcher imp = java.util.regex.Pattern.compile("(?m)^import ([\\w.]+);$").matcher(section);
        int imports = 0;
        for (; imp.find(); imports++) Class.forName(imp.group(1));
        assertTrue(imports >= 8, "the README lists the example's imports: " + imports);
        java.util.regex.Matcher art = java.util.regex.Pattern.compile("<artifactId>(segsam-[\\w-]+)</artifactId>").matcher(section);
        int artifacts = 0;
        for (; art.find(); artifacts++) {
            String module = art.group(1).substring("segsam-".length());
            assertTrue(Files.readString(Path.of("..", module, "pom.xml")).contains("<artifactId>" + art.group(1) + "</artifactId>"), art.group(1));
        }
        assertEquals(3, artifacts, "model, io and kernels");
        assertTrue(section.contains("--add-modules jdk.incubator.vector"), "the JVM option of the fast path");
        assertTrue(Files.exists(Path.of("..", "LICENSE")), "the README refers to a LICENSE file");
    }

    @TempDir
    Path dir;

    @Test
    void runsOnPlainSamAndSegSam() throws Exception {
        TensorSource w = SeededWeights.generate(PredictCommandTest.SMALL, 5);
        Path sam = dir.resolve("sam.safetensors"), segsam = dir.resolve("segsam.safetensors");
        SafeTensorsWriter st = new SafeTensorsWriter();
        for (String n : w.names()) st.add(n, w.get(n));
        st.write(sam);
        List<ClassSpec> classes = List.of(ClassTexts.spec("liver", null), ClassTexts.spec("spleen", null));
        SegSamInit.Model m = SegSamInit.create(w, classes, SegSamInit.hashedEmbeddings(classes, 32), "hashed-v1", true, "sam", 1);
        SafeTensorsWriter sw = new SafeTensorsWriter();
        m.tensors().forEach(sw::add);
        m.metadata().forEach(sw::metadata);
        sw.write(segsam);
        Path png = dir.resolve("ct.png");
        RgbImage img = RgbImage.black(240, 200);
        for (int y = 0; y < 200; y++) for (int x = 0; x < 240; x++) for (int c = 0; c < 3; c++) img.set(x, y, c, (x * 5 + y * 3 + c * 60) % 256);
        ImageFiles.writePng(img, png);
        for (Path file : new Path[] {sam, segsam}) {
            boolean semantic = file == segsam;
            Options options = Options.defaults();
            try (Checkpoint weights = Checkpoint.open(file)) {
                SegSam model = SegSam.load(weights, Backends.select(options));
                Predictor predictor = new Predictor(model, Preprocessor.Convention.SAM, options);
                try (Predictor.Encoded image = predictor.encode(ImageFiles.read(png).image())) {
                    Predictor.Result r = predictor.predict(image, Prompt.box(40, 30, 200, 180));
                    boolean[] mask = r.mask();
                    assertEquals(240 * 200, mask.length);
                    assertEquals(semantic, r.hasSemantics(), file.toString());
                    if (r.hasSemantics()) {
                        int[] labels = r.semantic().labelMap();
                        float[] presence = r.semantic().classPresence();
                        assertEquals(240 * 200, labels.length);
                        assertNotNull(presence);
                    } else {
                        assertFalse(semantic);
                    }
                }
            }
        }
    }
}
