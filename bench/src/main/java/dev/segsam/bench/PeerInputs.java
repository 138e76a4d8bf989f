package dev.segsam.bench;

import dev.segsam.io.safetensors.SafeTensorsWriter;
import dev.segsam.model.sam.SamConfig;
import dev.segsam.model.sam.SeededWeights;
import dev.segsam.tensor.TensorSource;
import dev.segsam.tensor.image.RgbImage;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Writes the inputs of the whole-process comparison (scripts/peer-process.sh): {@code vitb.safetensors} (the seeded
 * SAM ViT-B weights that the benchmarks and {@code tools/reference/export_onnx.py} generate) and {@code image.png}
 * ({@link SamBench#testImage()}, 600×450) into a folder; files that exist are kept.
 */
public final class PeerInputs {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "target/peer");
        Files.createDirectories(dir);
        Path weights = dir.resolve("vitb.safetensors"), png = dir.resolve("image.png");
        if (!Files.exists(weights)) {
            TensorSource seeded = SeededWeights.generate(SamConfig.vitB(), 20261126L);
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String n : seeded.names()) w.add(n, seeded.get(n));
            w.write(weights);
            System.out.println("wrote " + weights);
        }
        if (!Files.exists(png)) {
            RgbImage img = SamBench.testImage();
            BufferedImage b = new BufferedImage(img.width(), img.height(), BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < img.height(); y++) {
                for (int x = 0; x < img.width(); x++) b.setRGB(x, y, (img.get(x, y, 0) << 16) | (img.get(x, y, 1) << 8) | img.get(x, y, 2));
            }
            ImageIO.write(b, "png", png.toFile());
            System.out.println("wrote " + png);
        }
    }

    private PeerInputs() {}
}
