package dev.segsam.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image problems of issue 15 §3 as {@code segsam predict} reports them: one line that names the image problem
 * (not "not a DICOM file", not "target size 256x0"), and a dangling-link output folder named as such; nothing written.
 */
class BadImagesCliTest {
    @TempDir
    Path dir;

    @Test
    void eachImageProblemIsNamed() throws Exception {
        Path model = dir.resolve("sam.safetensors");
        dev.segsam.tensor.TensorSource w = dev.segsam.model.sam.SeededWeights.generate(PredictCommandTest.SMALL, 5);
        dev.segsam.io.safetensors.SafeTensorsWriter st = new dev.segsam.io.safetensors.SafeTensorsWriter();
        for (String n : w.names()) st.add(n, w.get(n));
        st.write(model);
        Path empty = Files.write(dir.resolve("empty.png"), new byte[0]);
        Path text = Files.writeString(dir.resolve("text.png"), "hello world\n");
        Path anim = dir.resolve("anim.png");
        ImageWriter gif = ImageIO.getImageWritersByFormatName("gif").next();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(anim.toFile())) {
            gif.setOutput(out);
            gif.prepareWriteSequence(null);
            for (int i = 0; i < 2; i++) gif.writeToSequence(new IIOImage(new BufferedImage(5, 5, BufferedImage.TYPE_BYTE_INDEXED), null, null), null);
            gif.endWriteSequence();
        } finally {
            gif.dispose();
        }
        Path tall = dir.resolve("tall.png");
        ImageIO.write(new BufferedImage(1, 5000, BufferedImage.TYPE_BYTE_GRAY), "png", tall.toFile());
        Object[][] cases = {
            {empty, "empty.png: empty file (0 bytes), not an image"},
            {text, "text.png: not a PNG, JPEG, TIFF, BMP or GIF image (it is text, starting \"hello world\\n\")"},
            {anim, "an animated GIF (more than one frame)"},
            {tall, "a 1x5000 image is too elongated for a 128-pixel input"},
        };
        Path out = dir.resolve("out");
        for (Object[] c : cases) {
            MainTest.Run r = MainTest.run("predict", "--model", model.toString(), "--image", c[0].toString(), "--box", "0,0,1,1", "--out", out.toString(), "--quiet");
            assertEquals(1, r.code(), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains((String) c[1]), c[1] + " <- " + r.err());
            assertFalse(r.err().contains("DICOM") || r.err().contains("target size"), r.err());
            assertFalse(Files.exists(out));
        }
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("gone"));
        MainTest.Run r = MainTest.run("predict", "--model", model.toString(), "--image", tall.toString(), "--box", "0,0,1,1", "--out", link.toString(), "--quiet");
        assertEquals("segsam: " + link + " is a symbolic link to " + dir.resolve("gone") + ", which does not exist (create it or remove the link)", r.err().strip());
    }
}
