package dev.segsam.tensor.fast;

/** Run in a child JVM by {@link SgemmTest}: prints what {@link Sgemm} reports in that JVM, and whether a call works. */
public final class SgemmProbe {
    private SgemmProbe() {}

    public static void main(String[] args) {
        String gemm;
        try {
            float[] c = new float[1];
            Sgemm.matmul(1, 1, 1, new float[] {2}, new float[] {3}, c);
            gemm = c[0] == 6 ? "ok" : "wrong " + c[0];
        } catch (RuntimeException e) {
            gemm = e.getClass().getSimpleName();
        }
        System.out.println("available=" + Sgemm.available() + " enabled=" + Sgemm.enabled() + " gemm=" + gemm);
    }
}
