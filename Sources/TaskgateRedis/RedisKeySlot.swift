/// The Redis Cluster hash slot of a key: CRC16 (XMODEM) of the key, or of its hash tag, modulo 16384.
public enum RedisKeySlot {
    /// How many slots a Redis Cluster has.
    public static let count = 16384

    /// The slot of `key`; only the part between the first `{` and the next `}` counts when it is not empty.
    public static func slot<Bytes: Collection<UInt8>>(of key: Bytes) -> Int where Bytes.Index == Int {
        var start = key.startIndex
        var end = key.endIndex
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            start = open + 1
            end = close
        }
        var crc: UInt16 = 0
        for byte in key[start..<end] {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte))]
        }
        return Int(crc) & (count - 1)
    }

    /// The slot of a key given as a string.
    public static func slot(of key: String) -> Int {
        slot(of: Array(key.utf8))
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
