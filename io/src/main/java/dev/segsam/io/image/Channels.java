package dev.segsam.io.image;

/** The channels an image file stores (alpha is read but dropped when mapping to RGB). */
public enum Channels {
    GREY(1, false),
    GREY_ALPHA(2, true),
    RGB(3, false),
    RGBA(4, true);

    /** Samples per pixel in the file. */
    public final int count;
    /** Whether one of them is alpha. */
    public final boolean alpha;

    Channels(int count, boolean alpha) {
        this.count = count;
        this.alpha = alpha;
    }

    /** True for {@link #GREY} and {@link #GREY_ALPHA}. */
    public boolean grey() {
        return this == GREY || this == GREY_ALPHA;
    }
}
