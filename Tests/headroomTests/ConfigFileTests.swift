import ArgumentParser
import Foundation
import TestSupport
import Testing
@testable import headroom

/// `--config FILE` (timm's `-c args.yaml`) and the args.yaml every run writes.
@Suite struct ConfigFileTests {
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory("config-tests") }

    /// The settings a `train` command line resolves to, as config.json would hold them.
    func settings(_ arguments: [String]) throws -> String {
        let command = try #require(try HeadroomCommand.parseAsRoot(try ConfigFile.expand(arguments)) as? Train)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(command.options.configuration()), as: UTF8.self) + " out=\(command.out ?? "-")"
    }

    @Test func theWrittenFileRunsTheSameSettings() throws {
        let given = [
            "train", "data dir", "--out", "runs/a b", "--epochs", "3", "--freeze-bn", "--crop-scale", "0.35,1", "--lr=0.05",
            "--precision", "fp32", "--model", "resnext50_32x4d", "--memory-budget", "1.5GiB", "--epochs", "4",
        ]
        let file = try scratch.write("args.yaml", Array(ConfigFile.yaml(reproducing: given).utf8))
        #expect(try settings(["train", "--config", file]) == settings(given))
        // The last --epochs took effect, once in the file.
        #expect(try String(contentsOfFile: file, encoding: .utf8).components(separatedBy: "\nepochs: ").count == 2)
        // The command line overrides the file.
        #expect(try settings(["train", "--config", file, "--epochs", "9"]) == settings(given + ["--epochs", "9"]))
    }

    @Test func jsonAndYAMLSpellingsOfTheSameSettingsAgree() throws {
        let json = try scratch.write("c.json", Array(#"{"data": "d", "out": "o", "batch_size": 32, "freeze_bn": true, "sync_bn": false, "lr": null, "crop_scale": [0.25, 1]}"#.utf8))
        let yaml = try scratch.write("c.yaml", Array("""
            # timm-style keys, quoted and plain values
            data: 'd'
            --out: "o"
            batch_size: 32   # the effective batch
            freeze-bn: true
            sync_bn: false
            lr: ~
            crop_scale: [0.25, 1]
            """.utf8))
        let direct = try settings(["train", "d", "--out", "o", "--batch-size", "32", "--freeze-bn", "--crop-scale", "0.25,1"])
        #expect(try settings(["train", "--config", json]) == direct)
        #expect(try settings(["train", "--config=\(yaml)"]) == direct)
    }

    @Test func aBadFileIsNamedWithItsLine() throws {
        let nested = try scratch.write("nested.yaml", Array("epochs: 3\noptimizer:\n  lr: 0.1\n".utf8))
        let error = #expect(throws: ValidationError.self) { try ConfigFile.expand(["train", "--config", nested]) }
        #expect(error?.message.contains("nested.yaml:3") == true, "\(String(describing: error))")
        #expect(throws: ValidationError.self) { try ConfigFile.expand(["plan", "--config", scratch.path + "/missing.yaml"]) }
        // Other commands, and arguments after "--", are left alone.
        #expect(try ConfigFile.expand(["predict", "m", "--config", "x"]) == ["predict", "m", "--config", "x"])
    }
}
