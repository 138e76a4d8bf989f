package dev.segsam.io.medical;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.segsam.tensor.Tensor;
import org.junit.jupiter.api.Test;

class VolumeTest {
    /** nx = 4, ny = 3, nz = 2; value = x + 10 y + 100 z. */
    static Volume grid(double[][] affine) {
        float[] v = new float[24];
        for (int z = 0; z < 2; z++) for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) v[(z * 3 + y) * 4 + x] = x + 10 * y + 100 * z;
        Volume.Builder b = Volume.builder(Tensor.of(v, 2, 3, 4)).spacing(1, 2, 3);
        if (affine != null) b.affine(affine, Volume.AffineSource.SFORM);
        return b.build();
    }

    @Test
    void slicesInVoxelOrder() {
        Volume v = grid(null);
        assertArrayEquals(new int[] {4, 3, 2}, v.dims());
        assertEquals(123f, v.get(3, 2, 1));
        Slice2D z = v.slice(Axis.Z, 1);
        assertEquals(4, z.width());
        assertEquals(3, z.height());
        assertEquals(121f, z.get(1, 2));
        Slice2D y = v.slice(Axis.Y, 2);
        assertEquals(4, y.width());
        assertEquals(2, y.height());
        assertEquals(123f, y.get(3, 1));
        Slice2D x = v.slice(Axis.X, 3);
        assertEquals(3, x.width());
        assertEquals(2, x.height());
        assertEquals(113f, x.get(1, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> v.slice(Axis.Z, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> v.slice(Axis.X, -1));
        assertEquals(Axis.Y, Axis.parse("Y"));
        assertThrows(IllegalArgumentException.class, () -> Axis.parse("t"));
        assertArrayEquals(new double[] {0, 123}, v.valueRange());
    }

    @Test
    void defaultAffineIsTheSpacingDiagonal() {
        Volume v = grid(null);
        assertEquals(Volume.AffineSource.SPACING_ONLY, v.affineSource());
        assertArrayEquals(new double[] {3, 4, 3}, v.world(3, 2, 1));
    }

    @Test
    void displayOfARasGridFlipsBothInPlaneAxes() {
        double[][] ras = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
        Volume v = grid(ras);
        Slice2D d = v.displaySlice(Axis.Z, 0);
        // axial: image x → patient left (RAS −x), image y → posterior (RAS −y)
        assertEquals(23f, d.get(0, 0)); // voxel (3, 2)
        assertEquals(0f, d.get(3, 2));
        assertEquals(new Volume.SliceLayout(false, true, true), v.displayLayout(Axis.Z));
        // coronal (slice along y): image y → inferior, so k runs upwards
        Slice2D c = v.displaySlice(Axis.Y, 0);
        assertEquals(103f, c.get(0, 0)); // x = 3, z = 1
        // sagittal (slice along x): image x → posterior (j reversed), image y → inferior (k reversed)
        Slice2D s = v.displaySlice(Axis.X, 0);
        assertEquals(120f, s.get(0, 0)); // y = 2, z = 1
    }

    @Test
    void displayOfAnLpsAxialGridIsTheStoredOrder() {
        double[][] dicomAxial = {{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
        Volume v = grid(dicomAxial);
        assertEquals(new Volume.SliceLayout(false, false, false), v.displayLayout(Axis.Z));
        assertArrayEquals(v.slice(Axis.Z, 1).values(), v.displaySlice(Axis.Z, 1).values());
    }

    @Test
    void displayTransposesWhenTheVoxelAxesAreSwapped() {
        // a sagittal acquisition: i runs inferior (RAS −z), j posterior (−y), k along −x, so slices along k are sagittal
        double[][] sag = {{0, 0, -1, 0}, {0, -1, 0, 0}, {-1, 0, 0, 0}, {0, 0, 0, 1}};
        Volume v = grid(sag);
        Volume.SliceLayout l = v.displayLayout(Axis.Z);
        assertEquals(true, l.transpose()); // i (inferior) must become image y, j (posterior) image x
        Slice2D d = v.displaySlice(Axis.Z, 0);
        assertEquals(3, d.width());
        assertEquals(4, d.height());
        // image x → posterior = +j, image y → inferior = +i: pixel (x, y) = voxel (i = y, j = x)
        assertEquals(21f, d.get(2, 1));
    }

    @Test
    void withDataKeepsGeometry() {
        Volume v = grid(new double[][] {{2, 0, 0, 5}, {0, 2, 0, 6}, {0, 0, 2, 7}});
        Volume l = v.withData(Tensor.zeros(2, 3, 4), "uint8");
        assertEquals("uint8", l.dataType());
        assertArrayEquals(v.affine()[0], l.affine()[0]);
        assertEquals(Volume.AffineSource.SFORM, l.affineSource());
        assertThrows(IllegalArgumentException.class, () -> v.withData(Tensor.zeros(1, 3, 4), "uint8"));
    }
}
