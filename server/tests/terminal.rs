//! The web terminal's questions through `POST /api/v1/cli` (rules §10.2, §15.34): a wrong answer asks
//! the same question again, and the next line still answers it.

mod common;

use common::{lines, Client, Server};

#[tokio::test]
async fn a_wrong_answer_asks_again_and_the_next_line_answers_the_question() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = Client::new(&s.url, "admin", "ironport", "newyork.example.com").await;
    let asked = admin.cli("clusterconfig removemachine sf.example.com").await;
    assert_eq!(asked["status"], "prompt", "{asked}");
    let question = lines(&asked);
    assert!(question.starts_with("Remove sf.example.com"), "{question}");

    let again = admin.cli("maybe").await;
    assert_eq!(again["status"], "prompt", "{again}");
    let text = lines(&again);
    assert!(
        text.starts_with("Error: \"maybe\" is not an answer to this question; expected Y or N."),
        "{text}"
    );
    assert!(text.ends_with(&question), "the same question again: {text}");

    // `N` answers the question (it is not read as a command): nothing is removed.
    let answered = admin.cli("N").await;
    assert_eq!(answered["status"], "ok", "{answered}");
    let list = admin.cli("clusterconfig list").await;
    assert_eq!(list["status"], "ok", "{list}");
    assert!(lines(&list).contains("Machine sf.example.com"), "{list}");
}
