//! A deal's payments: the schedule (plan), whose items add up to the deal's sum to the kopeck, and
//! the money received (fact). A won deal is paid in full; an open deal has paid the items already
//! due (a mortgage's credit only after registration); a failed deal at most its first item.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::copy::{add_months, local_day, DAY};
use super::deals::{is_failed, is_success, Deal, INSTALLMENT, MORTGAGE, PAID, REGISTERED, SIGNED};
use super::names::BANKS;
use super::Clock;

/// Материнский капитал for a first child, 2024.
const MATCAP: i64 = 63_038_078;
const THOUSAND: i64 = 100_000;

pub struct Payment {
    pub fact: bool,
    pub day: i32,
    pub sum: i64,
    pub comment: Option<String>,
    pub created: i64,
}

struct Item {
    day: i32,
    sum: i64,
    comment: String,
    from_bank: bool,
}

/// A round share of `total` (whole thousands of roubles), leaving at least a thousand on each side.
fn part(total: i64, percent: i64) -> Option<i64> {
    let v = total * percent / 100 / THOUSAND * THOUSAND;
    (v >= THOUSAND && total - v >= THOUSAND).then_some(v)
}

fn schedule(rng: &mut ChaCha8Rng, d: &Deal, total: i64) -> Vec<Item> {
    let item = |day, sum, comment: String| Item {
        day,
        sum,
        comment,
        from_bank: false,
    };
    let first_pct = rng.gen_range(15..=50);
    match (d.form, part(total, first_pct)) {
        (MORTGAGE, Some(first)) => {
            let bank = BANKS[usize::from(d.bank)];
            let mut items = vec![item(d.pay_day, first, "Первоначальный взнос".into())];
            let mut rest = total - first;
            if d.matcap && rest > 3 * MATCAP {
                items.push(item(
                    d.pay_day + rng.gen_range(10..40),
                    MATCAP,
                    "Материнский капитал".into(),
                ));
                rest -= MATCAP;
            }
            items.push(Item {
                day: d.bank_day,
                sum: rest,
                comment: format!("Кредитные средства, {bank}"),
                from_bank: true,
            });
            items
        }
        (INSTALLMENT, Some(first)) => {
            let rest = total - first;
            let months = i64::from(d.installments).clamp(1, (rest / THOUSAND).max(1));
            let each = rest / months / THOUSAND * THOUSAND;
            let mut items = vec![item(d.pay_day, first, "Первый взнос по рассрочке".into())];
            for i in 1..=months {
                let sum = if i == months {
                    rest - each * (months - 1)
                } else {
                    each
                };
                let comment = format!("Платёж {i} из {months} по графику рассрочки");
                items.push(item(add_months(d.pay_day, i as i32), sum, comment));
            }
            items
        }
        _ => vec![item(d.pay_day, total, "Оплата по договору".into())],
    }
}

fn work_time(rng: &mut ChaCha8Rng, clock: &Clock, day: i32) -> i64 {
    i64::from(day) * DAY - clock.offset + rng.gen_range(9 * 3600..20 * 3600)
}

/// Appends the deal's payments to `out`: plan items, then facts.
pub fn of_deal(rng: &mut ChaCha8Rng, clock: &Clock, d: &Deal, out: &mut Vec<Payment>) {
    let Some(total) = d.sum else { return };
    let plan = schedule(rng, d, total);
    for it in &plan {
        let comment = rng.gen_bool(0.85).then(|| it.comment.clone());
        out.push(Payment {
            fact: false,
            day: it.day,
            sum: it.sum,
            comment,
            created: d.plan_at,
        });
    }
    let updated_day = local_day(d.updated, clock.offset);
    let (paid, limit, early) = if is_success(d.stage) {
        let until = if d.stage == PAID {
            d.status_changed
        } else {
            d.updated
        };
        (plan.len(), local_day(until, clock.offset), true)
    } else if !is_failed(d.stage) && d.reached >= SIGNED {
        let due = plan
            .iter()
            .take_while(|it| it.day <= updated_day && (!it.from_bank || d.reached >= REGISTERED))
            .count();
        (due, updated_day, false)
    } else if d.paid_first {
        (1, local_day(d.status_changed, clock.offset), false)
    } else {
        (0, 0, false)
    };
    let mut order = rng.gen_range(100..9000);
    for it in &plan[..paid] {
        let day = if early {
            it.day.min(limit)
        } else {
            (it.day + rng.gen_range(0..=2)).min(limit)
        };
        let comment = if it.from_bank {
            Some(format!(
                "Поступление кредитных средств, {}",
                BANKS[usize::from(d.bank)]
            ))
        } else if day < it.day {
            Some("Досрочное погашение".to_owned())
        } else {
            match rng.gen_range(0..100) {
                0..=54 => None,
                55..=84 => {
                    order += rng.gen_range(1..400);
                    Some(format!("Платёжное поручение № {order}"))
                }
                85..=94 if d.form != INSTALLMENT => Some("Раскрытие аккредитива".to_owned()),
                _ => Some("Зачисление на эскроу-счёт".to_owned()),
            }
        };
        out.push(Payment {
            fact: true,
            day,
            sum: it.sum,
            comment,
            created: work_time(rng, clock, day).clamp(d.plan_at, d.updated),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_round_and_leave_a_rest() {
        assert_eq!(part(845_000_000, 20), Some(169_000_000));
        assert_eq!(part(100_000, 50), None);
        assert_eq!(part(200_000, 50), Some(100_000));
    }
}
