//! R1 in `cargo xtask test`: 20 rounds of the crash drill (100 in `cargo xtask bench`).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the server binary: run by `cargo xtask test`"]
async fn crash_drill_loses_no_acknowledged_commit() -> anyhow::Result<()> {
    let report = tests::drill::crash_drill(20, |l| eprintln!("{l}")).await?;
    eprintln!("{report:?}");
    assert!(
        report.acknowledged > 0,
        "the load committed nothing: the drill proved nothing"
    );
    assert_eq!(report.lost, 0, "acknowledged commits were lost: {report:?}");
    assert_eq!(
        report.verify_failures, 0,
        "the state differed from the replay of the log: {report:?}"
    );
    Ok(())
}
