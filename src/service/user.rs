//! Managing users: created, changed, deactivated and listed by administrators.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait,
};

use crate::entity::{department, user};
use crate::error::{AppError, AppResult};
use crate::id::{NodeId, NodeKind};
use crate::service::audit::{self, Caller, ItemType};
use crate::service::auth::{
    check_new_password, hash_password, normalize_username, random_secret, verify_password,
};
use crate::service::page::{Page, PageArgs, paginate};
use crate::service::policy::{ReadScope, Role, Viewer};

/// A user to create.
pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub password: String,
    pub role: Role,
    pub department_id: Option<i64>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// `Some(None)` removes the department (for a role that has none).
    pub department_id: Option<Option<i64>>,
}

/// What the audit trail keeps of a user: never the password hash.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UserRecord<'a> {
    username: &'a str,
    display_name: &'a str,
    role: &'a str,
    department_id: Option<i64>,
    active: bool,
    token_version: i32,
}

impl<'a> UserRecord<'a> {
    fn of(user: &'a user::Model) -> Self {
        Self {
            username: &user.username,
            display_name: &user.display_name,
            role: &user.role,
            department_id: user.department_id,
            active: user.active,
            token_version: user.token_version,
        }
    }
}

fn check_username(raw: &str) -> AppResult<String> {
    let username = normalize_username(raw);
    let valid = (2..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(username)
    } else {
        Err(AppError::bad_input(
            "a username is 2 to 64 characters: lower-case letters, digits, `.`, `_` or `-`",
        ))
    }
}

fn check_display_name(raw: &str) -> AppResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad_input("a display name is 1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// A department user needs a department that exists; the other roles have none.
async fn check_role_department(
    db: &impl ConnectionTrait,
    role: Role,
    department_id: Option<i64>,
) -> AppResult<()> {
    match (role, department_id) {
        (Role::Department, None) => {
            Err(AppError::bad_input("a department user needs a department"))
        }
        (Role::Department, Some(id)) => {
            if department::Entity::find_by_id(id).one(db).await?.is_none() {
                return Err(AppError::bad_input("the department does not exist"));
            }
            Ok(())
        }
        (_, Some(_)) => Err(AppError::bad_input(
            "only department users belong to a department",
        )),
        (_, None) => Ok(()),
    }
}

async fn find_user(db: &impl ConnectionTrait, id: i64) -> AppResult<user::Model> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("no user has this id"))
}

/// Creates a user (administrators only).
pub async fn create_user<C>(
    db: &C,
    caller: &Caller<'_>,
    new_user: NewUser,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let viewer = caller.viewer;
    viewer.require_admin()?;
    let username = check_username(&new_user.username).map_err(|e| e.in_field("input.username"))?;
    let display_name = check_display_name(new_user.display_name.as_deref().unwrap_or(&username))
        .map_err(|e| e.in_field("input.displayName"))?;
    check_new_password(&new_user.password).map_err(|e| e.in_field("input.password"))?;
    check_role_department(db, new_user.role, new_user.department_id)
        .await
        .map_err(|e| e.in_field("input.departmentId"))?;
    let password_hash = hash_password(&new_user.password).await?;

    let txn = crate::db::begin_write(db).await?;
    let taken = user::Entity::find()
        .filter(user::Column::Username.eq(&username))
        .one(&txn)
        .await?;
    if let Some(taken) = taken {
        return Err(AppError::AlreadyExists {
            message: format!("the username `{username}` is taken"),
            existing_id: NodeId::new(NodeKind::User, taken.id).encode(),
            current_version: None,
        });
    }
    let now = Utc::now();
    let created = user::ActiveModel {
        username: Set(username),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        role: Set(new_user.role.as_str().to_owned()),
        department_id: Set(new_user.department_id),
        active: Set(true),
        token_version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        caller,
        "user.create",
        ItemType::User,
        created.id,
        None::<&()>,
        Some(&UserRecord::of(&created)),
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Changes a user's display name, role or department (administrators only). A change of
/// role or department ends the user's existing tokens.
pub async fn update_user<C>(
    db: &C,
    caller: &Caller<'_>,
    id: i64,
    changes: UserChanges,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let viewer = caller.viewer;
    viewer.require_admin()?;
    let txn = crate::db::begin_write(db).await?;
    let current = find_user(&txn, id).await?;
    let current_role = Role::parse(&current.role).unwrap_or(Role::Portal);
    let role = changes.role.unwrap_or(current_role);
    let department_id = match changes.department_id {
        Some(department_id) => department_id,
        // Leaving the department role drops the department with it.
        None if role != Role::Department => None,
        None => current.department_id,
    };
    if viewer.user().is_some_and(|me| me.user_id == id) && role != current_role {
        return Err(AppError::bad_input("you cannot change your own role"));
    }
    check_role_department(&txn, role, department_id)
        .await
        .map_err(|e| e.in_field("input.departmentId"))?;
    let revoke = role != current_role || department_id != current.department_id;
    let mut row: user::ActiveModel = current.clone().into();
    if let Some(name) = &changes.display_name {
        row.display_name =
            Set(check_display_name(name).map_err(|e| e.in_field("input.displayName"))?);
    }
    row.role = Set(role.as_str().to_owned());
    row.department_id = Set(department_id);
    if revoke {
        row.token_version = Set(current.token_version + 1);
    }
    row.updated_at = Set(Utc::now());
    let updated = row.update(&txn).await?;
    audit::record(
        &txn,
        caller,
        "user.update",
        ItemType::User,
        id,
        Some(&UserRecord::of(&current)),
        Some(&UserRecord::of(&updated)),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deactivates or reactivates a user (administrators only). Deactivation ends its tokens.
pub async fn set_active<C>(
    db: &C,
    caller: &Caller<'_>,
    id: i64,
    active: bool,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let viewer = caller.viewer;
    viewer.require_admin()?;
    if !active && viewer.user().is_some_and(|me| me.user_id == id) {
        return Err(AppError::bad_input("you cannot deactivate yourself"));
    }
    let txn = crate::db::begin_write(db).await?;
    let current = find_user(&txn, id).await?;
    let mut row: user::ActiveModel = current.clone().into();
    row.active = Set(active);
    if !active {
        row.token_version = Set(current.token_version + 1);
    }
    row.updated_at = Set(Utc::now());
    let updated = row.update(&txn).await?;
    let action = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    audit::record(
        &txn,
        caller,
        action,
        ItemType::User,
        id,
        Some(&UserRecord::of(&current)),
        Some(&UserRecord::of(&updated)),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deactivates a user named by username (for the command line).
pub async fn deactivate_by_username<C>(
    db: &C,
    caller: &Caller<'_>,
    username: &str,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let found = user::Entity::find()
        .filter(user::Column::Username.eq(normalize_username(username)))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user is called `{username}`")))?;
    set_active(db, caller, found.id, false).await
}

async fn set_password<C>(
    db: &C,
    caller: &Caller<'_>,
    action: &str,
    id: i64,
    password: &str,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    check_new_password(password).map_err(|e| e.in_field("password"))?;
    let password_hash = hash_password(password).await?;
    let txn = crate::db::begin_write(db).await?;
    let current = find_user(&txn, id).await?;
    let mut row: user::ActiveModel = current.clone().into();
    row.password_hash = Set(password_hash);
    row.token_version = Set(current.token_version + 1);
    row.updated_at = Set(Utc::now());
    let updated = row.update(&txn).await?;
    // The record says that the password changed, never what it is or its hash.
    audit::record(
        &txn,
        caller,
        action,
        ItemType::User,
        id,
        Some(&UserRecord::of(&current)),
        Some(&UserRecord::of(&updated)),
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Sets a new password for a user (administrators only); ends the user's tokens.
pub async fn reset_password<C>(
    db: &C,
    caller: &Caller<'_>,
    id: i64,
    password: &str,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    caller.viewer.require_admin()?;
    set_password(db, caller, "user.resetPassword", id, password).await
}

/// Changes the caller's own password after checking the current one; ends its tokens.
pub async fn change_own_password<C>(
    db: &C,
    caller: &Caller<'_>,
    current: &str,
    new: &str,
) -> AppResult<user::Model>
where
    C: ConnectionTrait + TransactionTrait,
{
    let me = caller.viewer.user().ok_or(AppError::Unauthenticated)?;
    check_new_password(new).map_err(|e| e.in_field("new"))?;
    let user = find_user(db, me.user_id).await?;
    let matches = verify_password(current, &user.password_hash).await?;
    if !matches {
        return Err(AppError::bad_field(
            "current",
            "the current password is wrong",
        ));
    }
    set_password(db, caller, "user.changePassword", me.user_id, new).await
}

/// The signed-in user, if any.
pub async fn current_user(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
) -> AppResult<Option<user::Model>> {
    match viewer.user() {
        Some(me) => Ok(user::Entity::find_by_id(me.user_id).one(db).await?),
        None => Ok(None),
    }
}

/// Every user, a page at a time (administrators only).
pub async fn list_users(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    args: &PageArgs,
    max_page_size: u64,
) -> AppResult<Page<user::Model>> {
    viewer.require_admin()?;
    let select = user::Entity::find();
    paginate(
        db,
        select,
        user::Column::Id,
        |row| row.id,
        args,
        max_page_size,
    )
    .await
}

/// One user by id: administrators see everyone, others only themselves.
pub async fn find_user_for(
    db: &impl ConnectionTrait,
    viewer: &Viewer,
    id: i64,
) -> AppResult<Option<user::Model>> {
    viewer.require_signed_in()?;
    let is_self = viewer.user().is_some_and(|me| me.user_id == id);
    if !viewer.is_admin() && !is_self {
        return Ok(None);
    }
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

pub async fn users_by_ids(
    db: &impl ConnectionTrait,
    scope: ReadScope,
    ids: &[i64],
) -> AppResult<HashMap<i64, user::Model>> {
    // Records name people to those who read internal records, never to the public view.
    if !scope.sees_internal_records() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.id, row))
        .collect())
}

/// On an empty database, creates `admin` with a random password and returns the password
/// so that it can be shown once.
pub async fn ensure_initial_admin<C>(db: &C) -> AppResult<Option<String>>
where
    C: ConnectionTrait + TransactionTrait,
{
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let password = random_secret(20);
    create_user(
        db,
        &Caller::system(),
        NewUser {
            username: "admin".into(),
            display_name: Some("Administrator".into()),
            password: password.clone(),
            role: Role::Admin,
            department_id: None,
        },
    )
    .await?;
    Ok(Some(password))
}

/// The password of every demo account (see the README); demo accounts exist only on
/// servers bound to a loopback address.
pub const DEMO_PASSWORD: &str = "ecoplan-demo";

/// Creates the demo accounts that are missing: `leadership`, `portal`, and one per
/// department, named after its code. Returns the usernames created.
pub async fn ensure_demo_accounts<C>(db: &C) -> AppResult<Vec<String>>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut wanted: Vec<(String, String, Role, Option<i64>)> = vec![
        (
            "leadership".into(),
            "領導小組辦公室".into(),
            Role::Leadership,
            None,
        ),
        ("portal".into(), "市政門戶".into(), Role::Portal, None),
    ];
    for department in department::Entity::find()
        .order_by_asc(department::Column::Id)
        .all(db)
        .await?
    {
        wanted.push((
            department.code,
            department.name,
            Role::Department,
            Some(department.id),
        ));
    }
    let mut created = Vec::new();
    for (username, display_name, role, department_id) in wanted {
        let exists = user::Entity::find()
            .filter(user::Column::Username.eq(&username))
            .count(db)
            .await?
            > 0;
        if exists {
            continue;
        }
        create_user(
            db,
            &Caller::system(),
            NewUser {
                username: username.clone(),
                display_name: Some(display_name),
                password: DEMO_PASSWORD.into(),
                role,
                department_id,
            },
        )
        .await?;
        created.push(username);
    }
    Ok(created)
}
