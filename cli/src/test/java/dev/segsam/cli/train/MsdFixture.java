package dev.segsam.cli.train;

import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.dataset.AbdomenPhantom;
import dev.segsam.io.medical.dataset.InstanceMask;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import dev.segsam.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/**
 * Small synthetic data sets in the Medical Segmentation Decathlon layout, built from segsam's CT phantoms: case i is a
 * volume of {@code slices} phantom slices (seeds 100·i + z) of {@code size}² pixels, 0.8 × 0.8 × 2.5 mm, with its label
 * volume (the 7 organ classes) and a {@code dataset.json} naming them.
 */
public final class MsdFixture {
    public static final double SLICE_MM = 2.5;

    private MsdFixture() {}

    /** HU [nz, ny, nx] and labels of case {@code i}. */
    public static float[][] caseData(int i, int slices, int size) {
        float[] hu = new float[slices * size * size], lab = new float[hu.length];
        for (int z = 0; z < slices; z++) {
            AbdomenPhantom.Slice p = AbdomenPhantom.generate(100L * i + z, size);
            for (int k = 0; k < size * size; k++) hu[z * size * size + k] = p.hu()[k];
            for (InstanceMask m : p.masks()) for (int k = 0; k < size * size; k++) if (m.mask()[k] != 0) lab[z * size * size + k] = m.classId();
        }
        return new float[][] {hu, lab};
    }

    public static double[][] affine() {
        return new double[][] {{-0.8, 0, 0, 0}, {0, -0.8, 0, 0}, {0, 0, SLICE_MM, 0}};
    }

    public static Volume volume(float[] values, int slices, int size) {
        return Volume.builder(Tensor.of(values, slices, size, size)).spacing(0.8, 0.8, SLICE_MM).affine(affine(), Volume.AffineSource.SFORM).build();
    }

    /** Writes {@code cases} cases into {@code dir} (imagesTr/, labelsTr/, dataset.json); returns dir. */
    public static Path write(Path dir, int cases, int slices, int size) throws IOException {
        Files.createDirectories(dir.resolve("imagesTr"));
        Files.createDirectories(dir.resolve("labelsTr"));
        StringBuilder training = new StringBuilder();
        for (int i = 0; i < cases; i++) {
            float[][] d = caseData(i, slices, size);
            String id = String.format("phantom_%03d", i);
            NiftiWriter.write(dir.resolve("imagesTr/" + id + ".nii.gz"), volume(d[0], slices, size), NiftiDataType.INT16, false);
            NiftiWriter.write(dir.resolve("labelsTr/" + id + ".nii.gz"), volume(d[1], slices, size), NiftiDataType.UINT8, false);
            training.append(i > 0 ? ",\n" : "").append("{\"image\": \"./imagesTr/").append(id).append(".nii.gz\", \"label\": \"./labelsTr/").append(id).append(".nii.gz\"}");
        }
        writeIndex(dir, training.toString(), "{\"0\": \"CT\"}");
        return dir;
    }

    public static void writeIndex(Path dir, String training, String modality) throws IOException {
        Files.writeString(dir.resolve("dataset.json"), """
                {"name": "PhantomCT", "description": "segsam test data", "tensorImageSize": "3D", "modality": %s,
                 "labels": {"0": "background", "1": "liver", "2": "spleen", "3": "kidney_left", "4": "kidney_right",
                            "5": "stomach", "6": "aorta", "7": "vertebra"},
                 "numTraining": 0, "training": [%s], "test": []}""".formatted(modality, training));
    }

    /**
     * A little-endian NIfTI-1 float32 image of {@code t} volumes {@code [nz, ny, nx]} (x fastest, then y, z, t), gzip'd,
     * with the fixture's affine as sform.
     */
    public static void write4d(Path file, float[][] volumes, int nx, int ny, int nz) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(352 + 4 * nx * ny * nz * volumes.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 348);
        short[] dim = {4, (short) nx, (short) ny, (short) nz, (short) volumes.length, 1, 1, 1};
        for (int i = 0; i < 8; i++) b.putShort(40 + 2 * i, dim[i]);
        b.putShort(70, (short) 16).putShort(72, (short) 32);
        float[] pixdim = {1, 0.8f, 0.8f, (float) SLICE_MM, 1, 1, 1, 1};
        for (int i = 0; i < 8; i++) b.putFloat(76 + 4 * i, pixdim[i]);
        b.putFloat(108, 352).putFloat(112, 1).putFloat(116, 0);
        b.put(123, (byte) 10); // xyzt_units: mm, s
        b.putShort(252, (short) 0).putShort(254, (short) 1);
        double[][] a = affine();
        for (int r = 0; r < 3; r++) for (int c = 0; c < 4; c++) b.putFloat(280 + 16 * r + 4 * c, (float) a[r][c]);
        b.put(344, (byte) 'n').put(345, (byte) '+').put(346, (byte) '1');
        int at = 352;
        for (float[] v : volumes) for (float f : v) {
            b.putFloat(at, f);
            at += 4;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(b.array());
        }
        Files.write(file, bytes.toByteArray());
    }
}
