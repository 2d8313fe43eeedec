//! P4: effective values for a large cluster — every machine × every feature, one machine, one lookup.
//!
//! Two catalogues. The real one (19 features) in the nested maps of `ConfigStore`, resolved by
//! `resolve` (`nested_19_*`), and turned into a flat table (`flat_19_from_store`). And a generated
//! catalogue of 500 features (`flat_500_*`) whose levels repeat the real catalogue's pattern, in the
//! flat, index-keyed table of `cluster::store::flat`: the cluster level defines every cluster-capable
//! feature, 10 groups each define every other group-capable one, and each of 10,000 machines defines
//! its machine-only features plus one override. `cargo xtask bench` reads the medians; nothing is
//! extrapolated.

use cluster::features::{FeatureId, FeatureValue, Levels};
use cluster::store::flat::{Entry, FlatTable, StoreTable};
use cluster::store::{resolve, ConfigStore, Rev, Setting};
use cluster::{GroupName, Hostname, Mode, Timestamp, UserName};

const MACHINES: usize = 10_000;
const GROUPS: usize = 10;
const FEATURES: usize = 500;

struct Fixture {
    store: ConfigStore,
    machines: Vec<(Hostname, Option<GroupName>)>,
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
    let groups: Vec<GroupName> = (0..GROUPS)
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
        machines.push((host, Some(groups[m % groups.len()].clone())));
    }
    Fixture { store, machines }
}

/// The generated 500-feature catalogue, defined as the doc comment says.
fn table_500() -> FlatTable {
    let levels: Vec<Levels> = (0..FEATURES)
        .map(|i| FeatureId::ALL[i % FeatureId::ALL.len()].schema().levels)
        .collect();
    let machine_groups: Vec<Option<u32>> = (0..MACHINES).map(|m| Some((m % GROUPS) as u32)).collect();
    let mut t = FlatTable::new(levels.clone(), GROUPS, &machine_groups).unwrap();
    let mut handle = 0u32;
    let mut next = || {
        handle += 1;
        handle
    };
    for (f, l) in levels.iter().enumerate() {
        if l.cluster {
            t.define_cluster(f, next()).unwrap();
        }
    }
    let group_capable: Vec<usize> = (0..FEATURES).filter(|f| levels[*f].group).collect();
    for g in 0..GROUPS {
        for f in group_capable.iter().skip(g % 2).step_by(2) {
            t.define_group(g, *f, next()).unwrap();
        }
    }
    let overridable: Vec<usize> = (0..FEATURES)
        .filter(|f| levels[*f].cluster && levels[*f].machine)
        .collect();
    for m in 0..MACHINES {
        for f in (0..FEATURES).filter(|f| !levels[*f].cluster) {
            t.define_machine(m, f, next()).unwrap();
        }
        t.define_machine(m, overridable[m % overridable.len()], next())
            .unwrap();
    }
    t
}

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn nested_19_all_machines(bencher: divan::Bencher) {
    let fx = fixture();
    let modes: Vec<(Mode, Option<GroupName>)> = fx
        .machines
        .iter()
        .map(|(h, g)| (Mode::Machine(h.clone()), g.clone()))
        .collect();
    bencher.bench(|| {
        let mut n = 0usize;
        for (mode, group) in &modes {
            for f in FeatureId::ALL {
                n += resolve(&fx.store, mode, group.as_ref(), f).value.is_some() as usize;
            }
        }
        divan::black_box(n)
    });
}

#[divan::bench(sample_count = 200)]
fn nested_19_one_lookup(bencher: divan::Bencher) {
    let fx = fixture();
    let (host, group) = &fx.machines[MACHINES / 2];
    let mode = Mode::Machine(host.clone());
    bencher.bench(|| {
        divan::black_box(
            resolve(&fx.store, &mode, group.as_ref(), FeatureId::SmtpRoutes)
                .value
                .is_some(),
        )
    });
}

#[divan::bench(sample_count = 10)]
fn flat_19_from_store(bencher: divan::Bencher) {
    let fx = fixture();
    bencher.bench(|| divan::black_box(StoreTable::build(&fx.store, &fx.machines).values.len()));
}

#[divan::bench(sample_count = 20)]
fn flat_500_all_machines(bencher: divan::Bencher) {
    let t = table_500();
    let mut out = Vec::with_capacity(MACHINES * FEATURES);
    bencher.bench_local(|| {
        t.resolve_all(&mut out);
        divan::black_box(out.len())
    });
}

#[divan::bench(sample_count = 500)]
fn flat_500_one_machine(bencher: divan::Bencher) {
    let t = table_500();
    let mut row = vec![Entry::DEFAULT; FEATURES];
    bencher.bench_local(|| {
        t.resolve_machine(MACHINES / 2, &mut row).unwrap();
        divan::black_box(row[FEATURES - 1])
    });
}

#[divan::bench(sample_count = 500)]
fn flat_500_one_lookup(bencher: divan::Bencher) {
    let t = table_500();
    bencher.bench(|| divan::black_box(t.resolve_one(MACHINES / 2, FEATURES / 2).unwrap()));
}
