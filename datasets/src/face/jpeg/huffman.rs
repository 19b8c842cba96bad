//! Huffman tables and the entropy-coded bit stream of a baseline JPEG scan.
//!
//! Codes are read MSB first from a 64-bit buffer. A `FAST_BITS`-bit lookup resolves most codes
//! in one load; AC tables also keep a second lookup that resolves a whole coefficient (run,
//! code and magnitude bits together) when they fit in `FAST_BITS` bits, as stb_image and
//! zune-jpeg do. Longer codes fall back to the canonical `maxcode` search of ITU T.81 F.2.2.3.

/// Bits resolved by one table lookup.
pub(crate) const FAST_BITS: u32 = 10;
const FAST_SIZE: usize = 1 << FAST_BITS;

/// One DHT table, ready for decoding.
#[derive(Clone)]
pub(crate) struct HuffmanTable {
    /// `(length << 8) | symbol` for codes of at most `FAST_BITS` bits, 0 otherwise.
    fast: Box<[u16; FAST_SIZE]>,
    /// AC tables: `value << 8 | run << 4 | (code length + magnitude bits)` when the whole
    /// coefficient fits in `FAST_BITS` bits, 0 otherwise.
    fast_ac: Box<[i32; FAST_SIZE]>,
    /// Largest code of each length, left-aligned to 16 bits (+1), for the slow path.
    maxcode: [u32; 18],
    /// `symbol index - code` offset per length.
    delta: [i32; 17],
    symbols: Vec<u8>,
}

/// Why a table or a scan cannot be decoded.
pub(crate) type HuffResult<T> = Result<T, &'static str>;

impl HuffmanTable {
    /// Builds a table from the 16 code-length counts and the symbols of a DHT segment.
    pub(crate) fn new(counts: &[u8; 16], symbols: &[u8], is_ac: bool) -> HuffResult<Self> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total != symbols.len() || total > 256 {
            return Err("Huffman table symbol count does not match its code lengths");
        }
        let mut fast = Box::new([0u16; FAST_SIZE]);
        let mut maxcode = [0u32; 18];
        let mut delta = [0i32; 17];
        let mut code = 0u32;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            delta[len as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if code >= 1 << len {
                    return Err("Huffman table has more codes than its lengths allow");
                }
                if len <= FAST_BITS {
                    let shift = FAST_BITS - len;
                    let first = (code << shift) as usize;
                    let entry = ((len as u16) << 8) | u16::from(symbols[k]);
                    fast[first..first + (1 << shift)].fill(entry);
                }
                code += 1;
                k += 1;
            }
            // Codes of this length are < code; compare left-aligned 16-bit peeks.
            maxcode[len as usize] = code << (16 - len);
            code <<= 1;
        }
        maxcode[17] = u32::MAX;
        let mut fast_ac = Box::new([0i32; FAST_SIZE]);
        if is_ac {
            for (i, slot) in fast_ac.iter_mut().enumerate() {
                let entry = fast[i];
                if entry == 0 {
                    continue;
                }
                let len = u32::from(entry >> 8);
                let symbol = entry as u8;
                let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
                if size == 0 || len + size > FAST_BITS {
                    continue;
                }
                let raw = ((i as u32) << len) & (FAST_SIZE as u32 - 1);
                let bits = raw >> (FAST_BITS - size);
                let value = extend(bits, size);
                *slot = (value << 8) | (run << 4) as i32 | (len + size) as i32;
            }
        }
        Ok(Self {
            fast,
            fast_ac,
            maxcode,
            delta,
            symbols: symbols.to_vec(),
        })
    }
}

/// The JPEG sign extension of `size` magnitude bits (T.81 F.2.2.1 EXTEND).
#[inline(always)]
pub(crate) fn extend(bits: u32, size: u32) -> i32 {
    if size == 0 {
        0
    } else if bits < 1 << (size - 1) {
        bits as i32 - (1 << size) + 1
    } else {
        bits as i32
    }
}

/// The entropy-coded segment of a scan, read MSB first with byte stuffing removed.
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    bits: u32,
    /// Zero bytes fed after a marker or the end of data (a truncated or corrupt stream).
    padding: usize,
}

impl<'a> BitReader<'a> {
    /// Reads entropy-coded data starting at `data[0]`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            pos: 0,
            buf: 0,
            bits: 0,
            padding: 0,
        }
    }

    /// Whether zero bytes had to be invented past a marker or the end: the stream was short.
    pub(crate) fn overran(&self) -> bool {
        // Up to 8 bytes of look-ahead padding are normal at the end of a scan.
        self.padding > 8
    }

    /// Fills the buffer to at least 57 bits.
    #[inline(always)]
    fn refill(&mut self) {
        if self.bits > 56 {
            return;
        }
        // Fast path: eight bytes without 0xFF load at once.
        if let Some(chunk) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(chunk.try_into().unwrap_or([0; 8]));
            // Any 0xFF byte? (SWAR: a byte is 0xFF iff its complement is zero.)
            let inv = !word;
            let has_ff =
                (inv.wrapping_sub(0x0101_0101_0101_0101)) & !inv & 0x8080_8080_8080_8080 != 0;
            if !has_ff {
                let take = (63 - self.bits) >> 3;
                let new_bits = self.bits + 8 * take;
                self.buf |= (word >> self.bits) & !(u64::MAX >> new_bits);
                self.bits = new_bits;
                self.pos += take as usize;
                return;
            }
        }
        while self.bits <= 56 {
            let byte = self.next_byte();
            self.buf |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
    }

    #[inline(always)]
    fn next_byte(&mut self) -> u8 {
        match self.data.get(self.pos) {
            Some(&0xFF) => match self.data.get(self.pos + 1) {
                Some(0) => {
                    self.pos += 2;
                    0xFF
                }
                // Fill bytes: 0xFF 0xFF ... before a marker.
                Some(0xFF) => {
                    self.pos += 1;
                    self.next_byte()
                }
                _ => {
                    self.padding += 1;
                    0
                }
            },
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => {
                self.padding += 1;
                0
            }
        }
    }

    #[inline(always)]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.bits -= n;
    }

    /// `n` raw bits (n <= 16) as an unsigned value; the buffer must hold them.
    #[inline(always)]
    fn take(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        let v = self.peek(n);
        self.consume(n);
        v
    }

    /// One Huffman symbol; the buffer must hold at least 16 bits.
    #[inline(always)]
    fn symbol(&mut self, table: &HuffmanTable) -> HuffResult<u8> {
        let entry = table.fast[self.peek(FAST_BITS) as usize];
        if entry != 0 {
            self.consume(u32::from(entry >> 8));
            return Ok(entry as u8);
        }
        let code16 = self.peek(16);
        let mut len = FAST_BITS + 1;
        while code16 >= table.maxcode[len as usize] {
            len += 1;
        }
        if len > 16 {
            return Err("bad Huffman code");
        }
        let code = code16 >> (16 - len);
        self.consume(len);
        let index = code as i32 + table.delta[len as usize];
        table
            .symbols
            .get(index as usize)
            .copied()
            .ok_or("bad Huffman code")
    }

    /// Decodes one 8x8 block of a baseline scan into `block` (natural order, dequantized with
    /// `quant`, given in zigzag order); `pred` is the component's DC predictor. Returns whether
    /// any AC coefficient is non-zero.
    #[inline(always)]
    pub(crate) fn block(
        &mut self,
        block: &mut [i32; 64],
        dc: &HuffmanTable,
        ac: &HuffmanTable,
        quant: &[i32; 64],
        pred: &mut i32,
    ) -> HuffResult<bool> {
        self.refill();
        let size = u32::from(self.symbol(dc)?);
        if size > 11 {
            return Err("DC difference longer than 11 bits");
        }
        let diff = extend(self.take(size), size);
        *pred = pred.wrapping_add(diff);
        // libjpeg stores the coefficient as a 16-bit JCOEF before dequantizing.
        block[0] = i32::from(*pred as i16).wrapping_mul(quant[0]);
        let mut k = 1usize;
        let mut any_ac = false;
        while k < 64 {
            if self.bits < 27 {
                self.refill();
            }
            let fac = ac.fast_ac[self.peek(FAST_BITS) as usize];
            if fac != 0 {
                self.consume((fac & 15) as u32);
                k += ((fac >> 4) & 15) as usize;
                if k > 63 {
                    return Err("AC coefficient index past 63");
                }
                block[ZIGZAG[k] as usize] = (fac >> 8).wrapping_mul(quant[k]);
                any_ac = true;
                k += 1;
                continue;
            }
            let rs = self.symbol(ac)?;
            let (run, size) = (usize::from(rs >> 4), u32::from(rs & 15));
            if size == 0 {
                if run == 15 {
                    k += 16;
                    continue;
                }
                break;
            }
            k += run;
            if k > 63 {
                return Err("AC coefficient index past 63");
            }
            if size > 10 {
                return Err("AC coefficient longer than 10 bits");
            }
            let value = extend(self.take(size), size);
            block[ZIGZAG[k] as usize] = value.wrapping_mul(quant[k]);
            any_ac = true;
            k += 1;
        }
        Ok(any_ac)
    }

    /// Drops the buffered bits and moves past the next RSTn marker (the end of a restart
    /// interval). The reader never buffers past a marker, so the marker is ahead.
    pub(crate) fn restart(&mut self) -> HuffResult<()> {
        self.buf = 0;
        self.bits = 0;
        self.padding = 0;
        while let Some(&b) = self.data.get(self.pos) {
            if b != 0xFF {
                self.pos += 1;
                continue;
            }
            match self.data.get(self.pos + 1) {
                Some(m) if (0xD0..=0xD7).contains(m) => {
                    self.pos += 2;
                    return Ok(());
                }
                Some(0) | Some(0xFF) => self.pos += 1,
                _ => break,
            }
        }
        Err("expected a restart marker")
    }
}

/// Zigzag index -> natural (row-major) index.
pub(crate) const ZIGZAG: [u8; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];
