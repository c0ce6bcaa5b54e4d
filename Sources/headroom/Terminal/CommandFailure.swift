import ArgumentParser
import Foundation
import Headroom

/// Runs a subcommand's body. A failure the library reports (a missing checkpoint, data that
/// does not fit it, a file that cannot be written) is printed as `headroom NAME: message`
/// on stderr and exits with status 2, so that status 1 keeps the meaning a command gives it
/// (predict: some images failed). Usage errors keep argument-parser's status (64).
func reportingFailures(of command: String, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("headroom \(command): \(error)")
        throw ExitCode(2)
    }
}

/// One line on stderr.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// The image files `inputs` name (files, and folders walked for images), or exit status 2
/// with a message when there are none.
func imageFiles(in inputs: [String], command: String) throws -> [String] {
    let files = try ImageFiles.expand(inputs)
    guard !files.isEmpty else {
        let extensions = ImageFolder.defaultExtensions.map { "." + $0 }.joined(separator: ", ")
        printError("headroom \(command): no images (\(extensions)) found in \(inputs.joined(separator: ", "))")
        throw ExitCode(2)
    }
    return files
}
