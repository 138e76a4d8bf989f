package dev.segsam.cli.predict;

import dev.segsam.io.medical.Axis;
import dev.segsam.io.medical.Volume;
import dev.segsam.io.medical.nifti.NiftiDataType;
import dev.segsam.io.medical.nifti.NiftiWriter;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Puts 2-D results back on the grid of the volume they came from: a picture of slice {@code index} along {@code axis}
 * ({@link Volume#displaySlice}, the layout {@code predict} shows) is mapped back through the inverse of the display
 * transpose/flips into voxel order, and written as a NIfTI volume with the source's dimensions and affine (zero on every
 * other slice), so viewers overlay it on the source.
 */
public final class SourceGrid {
    private SourceGrid() {}

    /** Receives display pixel {@code j} (row-major in the picture) and the voxel it lies on. */
    @FunctionalInterface
    public interface VoxelSink {
        void accept(int j, int vx, int vy, int vz);
    }

    /**
     * Calls {@code sink} for every pixel of the {@code w × h} picture of slice {@code index} along {@code axis}
     * ({@link Volume#displaySlice}'s layout) with the voxel it shows, in the volume's voxel order.
     */
    public static void forEachVoxel(Volume vol, Axis axis, int index, int w, int h, VoxelSink sink) {
        Volume.SliceLayout layout = vol.displayLayout(axis);
        int sw = layout.transpose() ? h : w, sh = layout.transpose() ? w : h; // voxel-order slice size
        for (int y = 0; y < h; y++) {
            int sy = layout.flipY() ? h - 1 - y : y;
            for (int x = 0; x < w; x++) {
                int sx = layout.flipX() ? w - 1 - x : x;
                int u = layout.transpose() ? sy : sx, v = layout.transpose() ? sx : sy; // voxel-order slice (u, v)
                if (u >= sw || v >= sh) continue;
                switch (axis) {
                    case Z -> sink.accept(y * w + x, u, v, index);
                    case Y -> sink.accept(y * w + x, u, index, v);
                    default -> sink.accept(y * w + x, index, u, v);
                }
            }
        }
    }

    /**
     * Writes {@code labels} ({@code w × h}, row-major, display layout of slice {@code index} along {@code axis} of
     * {@code vol}) as a NIfTI volume on {@code vol}'s grid: uint8 when every label fits, else int16.
     */
    public static void writeNifti(Volume vol, Axis axis, int index, int[] labels, int w, int h, Path target) throws IOException {
        int max = 0;
        for (int l : labels) {
            if (l < 0 || l > Short.MAX_VALUE) throw new IllegalArgumentException("label " + l + " is outside 0.." + Short.MAX_VALUE);
            max = Math.max(max, l);
        }
        NiftiDataType type = max <= 255 ? NiftiDataType.UINT8 : NiftiDataType.INT16;
        // the labelled voxels as sorted (voxel index, label) pairs: memory of one slice, not of the volume
        long nx = vol.nx(), ny = vol.ny();
        long[] at = new long[labels.length];
        int[] value = new int[labels.length];
        int[] k = {0};
        forEachVoxel(vol, axis, index, w, h, (j, vx, vy, vz) -> {
            if (labels[j] == 0) return;
            at[k[0]] = (vz * ny + vy) * nx + vx;
            value[k[0]++] = labels[j];
        });
        int count = k[0];
        Integer[] order = new Integer[count];
        for (int i = 0; i < count; i++) order[i] = i;
        java.util.Arrays.sort(order, (p, q) -> Long.compare(at[p], at[q]));
        long[] sortedAt = new long[count];
        float[] sortedValue = new float[count];
        for (int i = 0; i < count; i++) {
            sortedAt[i] = at[order[i]];
            sortedValue[i] = value[order[i]];
        }
        NiftiWriter.write(target, vol, type, true, (from, dst, len) -> {
            java.util.Arrays.fill(dst, 0, len, 0f);
            int p = java.util.Arrays.binarySearch(sortedAt, 0, count, from);
            if (p < 0) p = -p - 1;
            for (; p < count && sortedAt[p] < from + len; p++) dst[(int) (sortedAt[p] - from)] = sortedValue[p];
        });
    }
}
