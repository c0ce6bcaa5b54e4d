import Foundation
import Torch

/// What a checkpoint holds of the run's progress, and putting it back.
extension Trainer {
    func checkpointState() -> CheckpointState {
        CheckpointState(
            configuration: configuration, classNames: train.classes, epoch: epoch, stepInEpoch: stepInEpoch, globalStep: globalStep,
            samplesSeen: samplesSeen, optimizerSteps: step.optimizer.stepCount, lossScaler: step.lossScaler,
            policies: Dictionary(uniqueKeysWithValues: policies.map { (String($0.key), $0.value) }), plans: plans,
            bestTop1: bestTop1, bestEpoch: bestEpoch, badSamples: trainLoader.badSamples.map(\.index),
            excludedThisEpoch: excludedThisEpoch, savedAt: Date().timeIntervalSince1970, headroomVersion: HeadroomRelease.version,
            trainingSamples: train.samples.count, trainingFingerprint: train.fingerprint)
    }

    func saveCheckpoint(reason: Checkpointer.Reason, isBest: Bool) throws {
        guard isWriter else { return }
        let url = try checkpointer.save(step: step, state: checkpointState(), isBest: isBest)
        try metrics?.append("checkpoint", ["epoch": epoch, "step": globalStep, "path": url.path, "reason": reason.rawValue])
        observer(.checkpointSaved(url, reason: reason))
    }

    func restore(_ state: CheckpointState, from directory: URL) throws {
        try checkpointer.restore(directory, into: step, optimizerSteps: state.optimizerSteps)
        step.restoreLossScaler(state.lossScaler)
        epoch = state.epoch
        stepInEpoch = state.stepInEpoch
        globalStep = state.globalStep
        samplesSeen = state.samplesSeen
        bestTop1 = state.bestTop1
        bestEpoch = state.bestEpoch
        plans = state.plans
        excludedThisEpoch = state.excludedThisEpoch
        policies = Dictionary(uniqueKeysWithValues: state.policies.compactMap { key, value in Int(key).map { ($0, value) } })
        trainLoader.markBad(state.badSamples.map { BadSample(index: $0, path: train.samples[$0].path, reason: "failed in an earlier session") })
    }
}
