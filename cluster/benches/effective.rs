//! P4: effective values for a large cluster — every machine × every feature, and one lookup.
//!
//! The catalogue has 19 features, not 500: the store holds the cluster level (every cluster-capable
//! feature), 10 groups defining half the features, and 10,000 machine modes each with the machine-only
//! features plus one override. `all_machines` resolves all 10,000 × 19; the figure per 10,000 × 500 is
//! extrapolated from the per-resolution cost by `cargo xtask bench`.

use cluster::features::{FeatureId, FeatureValue};
use cluster::store::{resolve, ConfigStore, Rev, Setting};
use cluster::{GroupName, Hostname, Mode, Timestamp, UserName};

const MACHINES: usize = 10_000;

struct Fixture {
    store: ConfigStore,
    machines: Vec<(Mode, GroupName)>,
}

fn setting(tag: &str) -> Setting {
    Setting {
        value: FeatureValue::of(vec![FeatureId::SmtpRoutes
            .schema()
            .parse_row(&[format!("{tag}.example.com"), "mx.example.com".into()])
            .unwrap()]),
        rev: Rev {
            at: Timestamp(0),
            user: UserName::parse("admin").unwrap(),
            origin: Hostname::parse("newyork.example.com").unwrap(),
            seq: 0,
        },
    }
}

fn fixture() -> Fixture {
    let mut store = ConfigStore::default();
    for f in FeatureId::ALL {
        if f.schema().levels.cluster {
            store.set(Mode::Cluster, f, setting("cluster"));
        }
    }
    let groups: Vec<GroupName> = (0..10)
        .map(|g| GroupName::parse(&format!("G{g}")).unwrap())
        .collect();
    for (i, g) in groups.iter().enumerate() {
        for f in FeatureId::ALL
            .iter()
            .filter(|f| f.schema().levels.group)
            .skip(i % 2)
            .step_by(2)
        {
            store.set(Mode::Group(g.clone()), *f, setting("group"));
        }
    }
    let mut machines = Vec::with_capacity(MACHINES);
    for m in 0..MACHINES {
        let host = Hostname::parse(&format!("m{m:05}.example.com")).unwrap();
        let mode = Mode::Machine(host.clone());
        for f in FeatureId::ALL.iter().filter(|f| !f.schema().levels.cluster) {
            store.set(mode.clone(), *f, setting("machine"));
        }
        store.set(mode, FeatureId::ALL[8 + m % 10], setting("override"));
        machines.push((Mode::Machine(host), groups[m % groups.len()].clone()));
    }
    Fixture { store, machines }
}

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn all_machines(bencher: divan::Bencher) {
    let fx = fixture();
    bencher.bench(|| {
        let mut n = 0usize;
        for (host, group) in &fx.machines {
            for f in FeatureId::ALL {
                n += resolve(&fx.store, host, Some(group), f).value.is_some() as usize;
            }
        }
        divan::black_box(n)
    });
}

#[divan::bench(sample_count = 200)]
fn one_machine_one_feature(bencher: divan::Bencher) {
    let fx = fixture();
    let (host, group) = &fx.machines[MACHINES / 2];
    bencher.bench(|| {
        divan::black_box(
            resolve(&fx.store, host, Some(group), FeatureId::SmtpRoutes)
                .value
                .is_some(),
        )
    });
}
