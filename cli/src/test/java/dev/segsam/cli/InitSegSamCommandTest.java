package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.segsam.io.safetensors.SafeTensorsFile;
import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.model.segsam.SegSam;
import dev.segsam.tensor.CpuBackend;
import dev.segsam.tensor.TensorSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitSegSamCommandTest {
    @TempDir
    Path dir;

    @Test
    void addsSemanticPartsAndKeepsBinaryOutputsExactly() throws Exception {
        TensorSource w = SeededWeights.generate(PredictCommandTest.SMALL, 5);
        Path sam = dir.resolve("sam.safetensors");
        SafeTensorsWriter st = new SafeTensorsWriter();
        for (String n : w.names()) st.add(n, w.get(n));
        st.write(sam);
        Path classes = dir.resolve("classes.json"), out = dir.resolve("segsam.safetensors");
        Files.writeString(classes, "[{\"name\": \"liver\"}, {\"name\": \"lesion\", \"description\": \"a dark round spot\"}, \"kidney_R\"]");
        MainTest.Run r = MainTest.run("init-segsam", "--from", sam.toString(), "--classes", classes.toString(), "--out", out.toString(), "--text-dim", "64");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("3 classes"), r.out());
        try (SafeTensorsFile f = SafeTensorsFile.open(out)) {
            SegSam m = SegSam.load(f, new CpuBackend());
            assertEquals(List.of("liver", "lesion", "kidney_R"), m.config().classNames());
            assertEquals("a dark round spot", m.config().classes().get(1).description());
            assertTrue(m.config().classes().get(0).description().contains("right upper quadrant"));
            for (String n : w.names()) assertArrayEquals(w.get(n).toArray(), f.get(n).toArray(), n);
        }
        // predictions of the two files: identical binary logits
        Path img = dir.resolve("i.png");
        dev.segsam.io.image.ImageFiles.writePng(dev.segsam.tensor.image.RgbImage.black(40, 30), img);
        assertEquals(0, MainTest.run("predict", "--model", sam.toString(), "--image", img.toString(), "--box", "5,5,30,25", "--full-res-logits", "--out", dir.resolve("a").toString(), "--quiet").code());
        assertEquals(0, MainTest.run("predict", "--model", out.toString(), "--image", img.toString(), "--box", "5,5,30,25", "--full-res-logits", "--out", dir.resolve("b").toString(), "--quiet").code());
        try (SafeTensorsFile a = SafeTensorsFile.open(dir.resolve("a/outputs.safetensors")); SafeTensorsFile b = SafeTensorsFile.open(dir.resolve("b/outputs.safetensors"))) {
            assertArrayEquals(a.get("mask_logits.0").toArray(), b.get("mask_logits.0").toArray());
            assertTrue(b.contains("semantic_logits.0") && !a.contains("semantic_logits.0"));
        }
        // refusing to overwrite; bad classes file
        MainTest.Run again = MainTest.run("init-segsam", "--from", sam.toString(), "--classes", classes.toString(), "--out", out.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("exists (use --force"), again.err());
        Files.writeString(classes, "[{\"name\": \"liver\"}, {\"name\": \"liver\"}]");
        MainTest.Run dup = MainTest.run("init-segsam", "--from", sam.toString(), "--classes", classes.toString(), "--out", dir.resolve("x.safetensors").toString());
        assertEquals(1, dup.code());
        assertTrue(dup.err().contains("listed twice"), dup.err());
    }
}
