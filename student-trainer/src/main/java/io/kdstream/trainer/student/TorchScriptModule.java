package io.kdstream.trainer.student;

import io.kdstream.core.KdException;

import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
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

/**
 * A TorchScript file as a trainable DJL block: the module is loaded when the block is initialised, into the manager
 * given there (so it is freed with it), with every parameter recording gradients. Forward runs the module's
 * {@code forward} in training or inference mode ({@code module.train()} / {@code module.eval()}) as asked.
 */
final class TorchScriptModule extends AbstractBlock {

    private static final byte VERSION = 1;

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
        // Measured with libtorch 2.7.1 on CPU: with the graph executor's optimisations on (the default), a training
        // forward and backward of a module with convolutions returned NaN or infinite gradients for its first layer
        // on some steps, at random (the same step on the same weights and inputs was fine in another run): 20 of
        // 900 steps; with them off, none of 1,350 (a module without dropout, batches of 32). The setting is per thread, so it is made on every call. Steps of
        // modules with dropout still fail at times (docs/byo.md); the trainer skips them.
        JniUtils.setGraphExecutorOptimize(false);
        return module().forward(parameterStore, owned(inputs), training, params);
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
