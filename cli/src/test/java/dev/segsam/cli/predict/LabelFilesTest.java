package dev.segsam.cli.predict;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.MedicalImages;
import dev.segsam.io.medical.Volume;
import dev.segsam.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Label maps with more than 255 classes: a 16-bit PNG and an int16 NIfTI that read back with every id intact. */
class LabelFilesTest {
    @TempDir
    Path dir;

    @Test
    void labelsAbove255Use16Bits() throws Exception {
        int w = 7, h = 5;
        int[] labels = new int[w * h];
        for (int i = 0; i < labels.length; i++) labels[i] = (i * 977) % 1300; // 0..1299
        Path png = dir.resolve("l16.png"), png8 = dir.resolve("l8.png");
        PredictionOutput.writeLabelPng(labels, w, h, png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(16, img.getColorModel().getComponentSize(0));
        assertArrayEquals(labels, img.getRaster().getSamples(0, 0, w, h, 0, new int[w * h]));
        int[] small = new int[w * h];
        for (int i = 0; i < small.length; i++) small[i] = i % 4 == 0 ? 255 : i % 3;
        PredictionOutput.writeLabelPng(small, w, h, png8);
        BufferedImage img8 = ImageIO.read(png8.toFile());
        assertEquals(8, img8.getColorModel().getComponentSize(0));
        assertArrayEquals(small, img8.getRaster().getSamples(0, 0, w, h, 0, new int[w * h]));

        // the same ids on a 7x5x3 grid (identity affine: the display layout mirrors x and y), slice z = 1
        double[][] identity = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
        try (Volume vol = Volume.builder(Tensor.zeros(3, h, w)).spacing(1, 1, 1).affine(identity, Volume.AffineSource.SFORM).build()) {
            Path nii = dir.resolve("l.nii.gz");
            SourceGrid.writeNifti(vol, Axis.Z, 1, labels, w, h, nii);
            try (Volume back = MedicalImages.read(nii)) {
                assertEquals("int16", back.dataType());
                float[] shown = back.displaySlice(Axis.Z, 1).values();
                for (int i = 0; i < labels.length; i++) assertEquals(labels[i], shown[i], 0f, "pixel " + i);
                float[] all = back.data().toArray();
                for (int i = 0; i < w * h; i++) {
                    assertEquals(0f, all[i], "slice 0");
                    assertEquals(0f, all[2 * w * h + i], "slice 2");
                }
            }
        }
    }

    /**
     * A label map on one slice along each axis of an anisotropic grid with an oblique, mirrored affine: read back, the
     * slice shows the labels where {@code predict} showed the picture, and no other voxel is set.
     */
    @Test
    void oneSliceOnEachAxisLandsWhereItWasShown() throws Exception {
        int nx = 9, ny = 6, nz = 4;
        double[][] affine = {{0, -1.5, 0, 10}, {0.8, 0, 0, -4}, {0, 0, -2, 7}, {0, 0, 0, 1}};
        for (Axis axis : Axis.values()) {
            try (Volume vol = Volume.builder(Tensor.zeros(nz, ny, nx)).spacing(0.8, 1.5, 2).affine(affine, Volume.AffineSource.SFORM).build()) {
                int index = axis == Axis.Z ? 2 : axis == Axis.Y ? 3 : 5;
                var pic = vol.displaySlice(axis, index);
                int w = pic.width(), h = pic.height();
                int[] labels = new int[w * h];
                int set = 0;
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = (i * 7 + 3) % 5 == 0 ? 0 : 1 + (i * 13) % 200;
                    if (labels[i] != 0) set++;
                }
                Path nii = dir.resolve("s-" + axis + ".nii.gz");
                SourceGrid.writeNifti(vol, axis, index, labels, w, h, nii);
                try (Volume back = MedicalImages.read(nii)) {
                    assertEquals("uint8", back.dataType());
                    assertArrayEquals(new int[] {nz, ny, nx}, back.data().shape(), axis + ": grid");
                    float[] shown = back.displaySlice(axis, index).values();
                    for (int i = 0; i < labels.length; i++) assertEquals(labels[i], shown[i], 0f, axis + ", pixel " + i);
                    int nonzero = 0;
                    for (float v : back.data().toArray()) if (v != 0) nonzero++;
                    assertEquals(set, nonzero, axis + ": voxels set outside the slice");
                }
            }
        }
    }
}
