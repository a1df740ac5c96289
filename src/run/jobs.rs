//! How many cells run at once and how many `make` jobs each gets, from the machine's cores and
//! memory.

use anyhow::{bail, Result};

use super::Setting;

/// What one sanitizer build with its tests may use; more cells than memory / this would swap.
pub const MEMORY_PER_CELL: u64 = 4 << 30;

/// The machine: cores and total memory in bytes (`None` when /proc/meminfo is unreadable).
#[derive(Debug, Clone, Copy)]
pub struct Machine {
    pub cores: usize,
    pub memory: Option<u64>,
}

impl Machine {
    pub fn this() -> Machine {
        Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory: std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|text| mem_total(&text)),
        }
    }
}

fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Cells at once and `make -j` per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    pub cells: usize,
    pub jobs_per_cell: usize,
}

/// `requested` cells at once when given (never more than the cores), else what fits the cores
/// and memory; never more than there are cells. Each cell's `make -j` gets an equal share of
/// the cores. `name` names the setting that requested it ([`Setting::Jobs`]).
pub fn parallelism(
    machine: Machine,
    requested: Option<usize>,
    cells: usize,
    name: fn(Setting) -> String,
) -> Result<Parallelism> {
    let cells_at_once = match requested {
        Some(0) => bail!(
            "{} 0: at least one cell must run at a time; give 1 or more, or leave it out",
            name(Setting::Jobs)
        ),
        Some(n) if n > machine.cores => bail!(
            "{} {n}: this machine has {} cores, so at most {} cells can run at once (each \
             cell's make gets a share of the cores)",
            name(Setting::Jobs),
            machine.cores,
            machine.cores
        ),
        Some(n) => n,
        None => {
            let by_memory = machine
                .memory
                .map_or(1, |m| (m / MEMORY_PER_CELL).max(1) as usize);
            machine.cores.min(by_memory)
        }
    }
    .min(cells.max(1));
    Ok(Parallelism {
        cells: cells_at_once,
        jobs_per_cell: (machine.cores / cells_at_once).max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    #[test]
    fn the_default_fits_cores_and_memory_and_shares_the_cores() {
        let m = Machine {
            cores: 8,
            memory: Some(16 * GIB),
        };
        assert_eq!(
            parallelism(m, None, 100, Setting::plain).unwrap(),
            Parallelism {
                cells: 4,
                jobs_per_cell: 2
            }
        );
        let m = Machine {
            cores: 2,
            memory: Some(23 * GIB),
        };
        assert_eq!(
            parallelism(m, None, 100, Setting::plain).unwrap(),
            Parallelism {
                cells: 2,
                jobs_per_cell: 1
            }
        );
        assert_eq!(
            parallelism(m, None, 1, Setting::plain).unwrap(),
            Parallelism {
                cells: 1,
                jobs_per_cell: 2
            }
        );
        let m = Machine {
            cores: 4,
            memory: None,
        };
        assert_eq!(
            parallelism(m, None, 9, Setting::plain).unwrap(),
            Parallelism {
                cells: 1,
                jobs_per_cell: 4
            }
        );
    }

    #[test]
    fn more_cells_than_cores_is_refused() {
        let m = Machine {
            cores: 2,
            memory: Some(64 * GIB),
        };
        let err = parallelism(m, Some(3), 10, Setting::plain)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`jobs` 3") && err.contains("at most 2"),
            "{err}"
        );
        let err = parallelism(m, Some(0), 10, Setting::plain)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`jobs` 0") && err.contains("1 or more"),
            "{err}"
        );
        assert_eq!(
            parallelism(m, Some(1), 10, Setting::plain).unwrap(),
            Parallelism {
                cells: 1,
                jobs_per_cell: 2
            }
        );
    }

    #[test]
    fn mem_total_is_read_in_kib() {
        assert_eq!(
            mem_total("MemTotal:       16384 kB\nMemFree: 1 kB\n"),
            Some(16384 * 1024)
        );
        assert_eq!(mem_total("nothing"), None);
    }
}
