package io.kdstream.core.model;

/** How a stored model's parameters are held. */
public enum ModelFormat {
    /** A zoo architecture rebuilt from its name, with DJL block parameters ({@code Block.saveParameters}). */
    DJL,
    /** A TorchScript module ({@code .pt}) run by DJL's PyTorch engine. */
    TORCHSCRIPT
}
