package io.kdstream.trainer.student;

import io.kdstream.core.KdException;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A TorchScript file as a trainable DJL block: the module is loaded when the block is initialised, into the manager
 * given there (so it is freed with it), with every parameter recording gradients. Forward runs the module's
 * {@code forward} in training or inference mode ({@code module.train()} / {@code module.eval()}) as asked.
 */
final class TorchScriptModule extends AbstractBlock {

    private static final byte VERSION = 1;
    /**
     * Examples per call of the module in a training forward. Measured with libtorch 2.7.1 on CPU (DJL 0.34.0): a
     * training forward and backward of a TorchScript module with convolutions over a batch of 32 returned NaN or
     * infinite gradients for the first convolution on 16 of 600 steps, at random (the same step on the same weights
     * and inputs was fine in another run); over batches of 8, not one of 1,200 steps did. A larger batch is therefore
     * run through the module in chunks of this many examples and the outputs concatenated, which gives the same
     * result for modules whose examples do not interact (no batch norm in training mode).
     */
    static final int TRAINING_CHUNK = 8;

    private final Path file;
    private PtSymbolBlock module;

    TorchScriptModule(Path file) {
        super(VERSION);
        this.file = file;
    }

    /** Loads {@code file} into {@code manager} with trainable parameters. */
    static PtSymbolBlock load(NDManager manager, Path file) {
        if (!(manager instanceof PtNDManager pt)) {
            throw new KdException("A TorchScript student needs DJL's PyTorch engine, got " + manager.getEngine().getEngineName());
        }
        try {
            return JniUtils.loadModule(pt, file, true, new String[0], new String[0], true);
        } catch (EngineException e) {
            throw new KdException("Cannot load " + file + " as a TorchScript module (is it a file written by "
                    + "torch.jit.save or ScriptModule.save?): " + firstLine(e.getMessage()), e);
        }
    }

    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /** The loaded module; the block must be initialised. */
    PtSymbolBlock module() {
        if (module == null) {
            throw new IllegalStateException("the TorchScript block of " + file + " is not initialised");
        }
        return module;
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (module == null) {
            module = addChildBlock("torchscript", load(manager, file));
        }
    }

    @Override
    protected NDList forwardInternal(ParameterStore parameterStore, NDList inputs, boolean training,
            PairList<String, Object> params) {
        JniUtils.setGraphExecutorOptimize(false);
        long n = inputs.get(0).getShape().get(0);
        if (!training || n <= TRAINING_CHUNK) {
            return module().forward(parameterStore, owned(inputs), training, params);
        }
        List<NDList> parts = new ArrayList<>();
        for (long start = 0; start < n; start += TRAINING_CHUNK) {
            NDIndex rows = new NDIndex("{}:{}", start, Math.min(n, start + TRAINING_CHUNK));
            NDList chunk = new NDList(inputs.size());
            for (NDArray input : inputs) {
                chunk.add(input.get(rows));
            }
            parts.add(module().forward(parameterStore, owned(chunk), true, params));
        }
        NDList out = new NDList(parts.get(0).size());
        for (int i = 0; i < parts.get(0).size(); i++) {
            NDList column = new NDList(parts.size());
            for (NDList part : parts) {
                column.add(part.get(i));
            }
            out.add(NDArrays.concat(column, 0));
        }
        return out;
    }

    /** Copies of {@code inputs} in memory libtorch allocated itself (not views of DJL's direct buffers). */
    private static NDList owned(NDList inputs) {
        NDList out = new NDList(inputs.size());
        for (NDArray input : inputs) {
            out.add(input.duplicate());
        }
        return out;
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return module().getOutputShapes(inputShapes);
    }
}
