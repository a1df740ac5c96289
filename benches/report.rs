//! Throughput of classifying a log (`logs::read::scan`) against reading it and counting its
//! lines, on a
//! synthetic 32 MB test-suite log with sanitizer reports sprinkled in.

use std::hint::black_box;
use std::io::{Cursor, Read};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use matrix::logs::read::scan;

fn synthetic_log() -> Vec<u8> {
    let mut log = String::from("+ ./configure --with-pydebug\nchecking for gcc... gcc\n+ make\n");
    for i in 0..2_000 {
        log.push_str(&format!(
            "gcc -c -g -fsanitize=thread -o Objects/o{i}.o Objects/o{i}.c\n"
        ));
    }
    log.push_str("+ ./python -m test -uall\n== CPython 3.13.0b4\n");
    let mut n = 0;
    while log.len() < 32 << 20 {
        n += 1;
        log.push_str(&format!(
            "0:{:02}:{:02} load avg: 4.20 [{n:3}/478/2] test_mod{n}\n",
            n / 60 % 60,
            n % 60
        ));
        log.push_str("WARNING: ThreadSanitizer: data race (pid=9180)\n");
        for f in 0..12 {
            log.push_str(&format!(
                "    #{f} _PyEval_EvalFrameDefault Python/ceval.c:{} (python+0x{:x})\n",
                100 + f,
                4096 * f
            ));
        }
        log.push_str("SUMMARY: ThreadSanitizer: data race Objects/obmalloc.c:556:41 in set_allocator\n==================\n");
    }
    log.push_str("Result: FAILURE\n");
    log.into_bytes()
}

fn bench(c: &mut Criterion) {
    let log = synthetic_log();
    let mut group = c.benchmark_group("report");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.sample_size(20);
    // The least any line reader does: read the bytes in 64 KiB pieces and find the newlines.
    group.bench_function("count lines", |b| {
        b.iter(|| {
            let mut buf = [0u8; 64 * 1024];
            let mut r = Cursor::new(black_box(&log));
            let mut lines = 0;
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                lines += memchr::memchr_iter(b'\n', black_box(&buf[..n])).count();
            }
            lines
        })
    });
    group.bench_function("classify", |b| b.iter(|| scan(Cursor::new(&log))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
