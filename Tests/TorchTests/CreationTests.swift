import Testing
import TestSupport
import Torch

@Suite struct CreationTests {
    @Test func fullZerosOnes() throws {
        expectClose(try Tensor.zeros([2, 3]), [0, 0, 0, 0, 0, 0], shape: [2, 3])
        expectClose(try Tensor.ones([2]), [1, 1], shape: [2])
        let sevens = try Tensor.full([2, 2], value: 7, dtype: .int32)
        #expect(sevens.dtype == .int32)
        #expect(try sevens.array(of: Int32.self) == [7, 7, 7, 7])
    }

    @Test func arange() throws {
        #expect(try Tensor.arange(0, 5).array(of: Int64.self) == [0, 1, 2, 3, 4])
        expectClose(try Tensor.arange(1, 2, step: 0.25, dtype: .float32), [1, 1.25, 1.5, 1.75])
    }

    @Test func arraysRoundTripInEveryDType() throws {
        #expect(try Tensor([1.5, -2, 3] as [Float]).array(of: Float.self) == [1.5, -2, 3])
        #expect(try Tensor([1.5, -2, 3] as [Double]).array(of: Double.self) == [1.5, -2, 3])
        #expect(try Tensor([Int64.min, 0, Int64.max]).array(of: Int64.self) == [Int64.min, 0, Int64.max])
        #expect(try Tensor([Int32.min, 5]).array(of: Int32.self) == [Int32.min, 5])
        #expect(try Tensor([Int16.min, 5]).array(of: Int16.self) == [Int16.min, 5])
        #expect(try Tensor([Int8.min, 5]).array(of: Int8.self) == [Int8.min, 5])
        #expect(try Tensor([true, false, true]).array(of: Bool.self) == [true, false, true])
    }

    @Test func uint8BytesRoundTripExactly() throws {
        let all = (0...255).map { UInt8($0) }
        let tensor = try Tensor(all, shape: [16, 16])
        #expect(tensor.dtype == .uint8)
        #expect(tensor.shape == [16, 16])
        #expect(try tensor.bytes() == all)
        #expect(try tensor.array(of: UInt8.self) == all)
        // Through a float conversion and back, as a decoded image does on its way to the model.
        #expect(try tensor.to(dtype: .float32).to(dtype: .uint8).bytes() == all)
    }

    @Test func shapeMustMatchTheValues() {
        #expect(throws: TorchError.self) { try Tensor([1, 2, 3] as [Float], shape: [2, 2]) }
    }

    @Test func readingAsTheWrongTypeIsAnError() throws {
        let tensor = try Tensor([1, 2] as [Float])
        #expect(throws: TorchError.self) { try tensor.array(of: Double.self) }
    }

    @Test func scalarsAndItems() throws {
        let scalar = try Tensor(scalar: 2.5 as Double)
        #expect(scalar.shape == [])
        #expect(try scalar.item() == 2.5)
        #expect(try Tensor(scalar: Int64(42)).itemInt() == 42)
    }

    @Test func seededGeneratorsRepeat() throws {
        let a = try Tensor.randn([8], generator: Generator(seed: 7)).array(of: Float.self)
        let b = try Tensor.randn([8], generator: Generator(seed: 7)).array(of: Float.self)
        let c = try Tensor.randn([8], generator: Generator(seed: 8)).array(of: Float.self)
        #expect(a == b)
        #expect(a != c)
        let uniform = try Tensor.rand([1000], generator: Generator(seed: 1)).array(of: Float.self)
        #expect(uniform.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = uniform.reduce(0, +) / 1000
        #expect(abs(mean - 0.5) < 0.05)
    }

    @Test func bytesNoCopySharesTheCallersMemory() throws {
        let count = 6
        nonisolated(unsafe) let memory = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        let floats = memory.bindMemory(to: Float.self, capacity: count)
        for i in 0..<count { floats[i] = Float(i) }
        nonisolated(unsafe) var released = false
        do {
            let tensor = try Tensor(bytesNoCopy: memory, shape: [2, 3], dtype: .float32) {
                released = true
                memory.deallocate()
            }
            floats[0] = 42  // no copy: the tensor sees the write
            #expect(try tensor.array(of: Float.self) == [42, 1, 2, 3, 4, 5])
            #expect(!released)
        }
        #expect(released)
    }

    @Test func filledInPlaceWithoutACopy() throws {
        let tensor = try Tensor.empty([2, 2], dtype: .uint8)
        try tensor.withUnsafeMutableBytes { bytes in
            for i in bytes.indices { bytes[i] = UInt8(10 * i) }
        }
        #expect(try tensor.bytes() == [0, 10, 20, 30])
    }

    @Test func memoryFormats() throws {
        let nchw = try Tensor.randn([2, 3, 4, 5], generator: Generator(seed: 0))
        #expect(nchw.isContiguous())
        let nhwc = try nchw.contiguous(.channelsLast)
        #expect(nhwc.isContiguous(in: .channelsLast))
        #expect(!nhwc.isContiguous())
        #expect(nhwc.shape == [2, 3, 4, 5])
        #expect(nhwc.strides == [60, 1, 15, 3])
        expectClose(nhwc, nchw)
    }

    @Test func conversionsBetweenDTypes() throws {
        let x = try Tensor([1.7, -2.2] as [Double])
        #expect(try x.to(dtype: .int64).array(of: Int64.self) == [1, -2])
        let half = try x.to(dtype: .bfloat16)
        #expect(half.dtype == .bfloat16)
        expectClose(half, [1.7, -2.2], within: .rounding(.bfloat16, operations: 1))
        #expect(x.device == .cpu)
    }
}
