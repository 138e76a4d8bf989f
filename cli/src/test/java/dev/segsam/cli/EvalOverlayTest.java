package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.image.ImageFiles;
import dev.segsam.tensor.image.RgbImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eval's overlays: titled panels, ground truth first, then the prediction and (SEG-SAM) the semantic label map. */
class EvalOverlayTest {
    @TempDir
    Path dir;

    @Test
    void overlaysShowGroundTruthBesidePrediction() throws Exception {
        Path run = dir.resolve("run");
        MainTest.Run t = MainTest.run(TrainCommandTest.args(run, "--steps", "1", "--cache", dir.resolve("cache").toString()));
        assertEquals(0, t.code(), t.err());
        Path out = dir.resolve("eval");
        MainTest.Run e = MainTest.run("eval", "--model", run.resolve("model.safetensors").toString(), "--data", "phantom", "--phantoms", "10",
                "--split", "test", "--overlays", "1", "--out", out.toString());
        assertEquals(0, e.code(), e.err());
        List<Path> overlays;
        try (Stream<Path> s = Files.list(out)) {
            overlays = s.filter(p -> p.getFileName().toString().startsWith("overlay_")).toList();
        }
        assertEquals(1, overlays.size(), overlays.toString());
        RgbImage img = ImageFiles.read(overlays.get(0)).image();
        int panel = (img.width() - 8) / 3;
        assertEquals(img.width(), 3 * panel + 8, "three panels 4 px apart: " + img.width());
        // each panel starts with a title bar: light text pixels in its first rows, on black
        for (int p = 0; p < 3; p++) {
            int light = 0;
            for (int y = 0; y < 10; y++) for (int x = p * (panel + 4); x < p * (panel + 4) + panel; x++) if (img.get(x, y, 0) > 200) light++;
            assertTrue(light > 20, "title of panel " + p + ": " + light + " light pixels");
        }
    }
}
