package dev.segsam.io.medical.dataset;

/** A segmentation class: its id in the source data set and its name (e.g. 77 "Thalamus_L", 1 "liver"). */
public record ClassInfo(int id, String name) {}
